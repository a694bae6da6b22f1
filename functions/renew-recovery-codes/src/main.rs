edge::http_main!(renew_recovery_codes::handle);
