edge::http_main!(create_login_link::handle);
