fn main() {
    let path = std::env::args().nth(1).unwrap_or_default();
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let parsed = wfc::syntax::parse(&text);
    if std::env::args().nth(2).is_some() {
        println!("{:#?}", parsed.file);
    }
    for d in &parsed.diagnostics {
        println!(
            "{:?} {} @{:?} {:?} help={:?}",
            d.code,
            d.message,
            d.labels[0].span,
            &text[d.labels[0].span.start..d.labels[0].span.end],
            d.help
        );
    }
    println!(
        "items={} comments={}",
        parsed.file.items.len(),
        parsed.comments.len()
    );
}
