edge::http_main!(enrol_totp::handle);
