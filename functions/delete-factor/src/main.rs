edge::http_main!(delete_factor::handle);
