edge::http_main!(bind_email::handle);
