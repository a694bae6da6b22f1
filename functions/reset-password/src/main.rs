edge::http_main!(reset_password::handle);
