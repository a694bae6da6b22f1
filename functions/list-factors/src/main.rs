edge::http_main!(list_factors::handle);
