edge::http_main!(redeem_login_link::handle);
