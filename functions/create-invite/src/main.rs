edge::http_main!(create_invite::handle);
