edge::http_main!(verify_code::handle);
