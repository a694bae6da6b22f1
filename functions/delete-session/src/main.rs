edge::http_main!(delete_session::handle);
