edge::http_main!(create_challenge::handle);
