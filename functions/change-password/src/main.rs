edge::http_main!(change_password::handle);
