edge::http_main!(get_me::handle);
