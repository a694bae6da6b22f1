edge::http_main!(inspect_login_link::handle);
