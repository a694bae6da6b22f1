edge::http_main!(bind_phone::handle);
