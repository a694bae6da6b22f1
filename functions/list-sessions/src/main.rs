edge::http_main!(list_sessions::handle);
