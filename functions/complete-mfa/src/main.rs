edge::http_main!(complete_mfa::handle);
