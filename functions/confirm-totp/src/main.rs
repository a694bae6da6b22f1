edge::http_main!(confirm_totp::handle);
