edge::http_main!(end_session::handle);
