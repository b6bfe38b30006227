//! The README's configuration table is the one the settings table makes.

const README: &str = include_str!("../../../README.md");

#[test]
fn the_readme_table_is_the_settings_table() {
    let (begin, end) = ("<!-- config:begin -->\n", "<!-- config:end -->");
    let start = README.find(begin).expect("config:begin marker") + begin.len();
    let stop = README.find(end).expect("config:end marker");
    let expected = crate::config::table::readme_table();
    assert!(
        README[start..stop] == expected,
        "README.md's configuration table differs from the settings table; it should read:\n{expected}"
    );
}
