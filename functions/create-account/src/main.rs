edge::http_main!(create_account::handle);
