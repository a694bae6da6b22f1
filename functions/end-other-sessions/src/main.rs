edge::http_main!(end_other_sessions::handle);
