//! The feed's scanner (`feed::Scanner`) against serde: on every body it takes, it builds the
//! items serde builds (compared by `PartialEq` and by `Debug`, which shows each word as
//! written); on every body it does not take, it says `None` and never panics, so the caller's
//! fallback to serde words the error.

use ward_core::feed::{Item, Scanner, one_byte_edits};

/// As the server's limit.
const MAX_ITEMS: usize = 10_000;

/// The scanner's items for a whole text that is one array of items.
fn scanned(text: &str, max: usize) -> Option<Vec<Item>> {
    let mut scanner = Scanner::new(text);
    let items = scanner.items(max)?;
    scanner.is_at_end().then_some(items)
}

fn by_serde(text: &str) -> Result<Vec<Item>, serde_json::Error> {
    serde_json::from_str(text)
}

/// The scanner takes `text`, and reads it as serde does.
fn check_agrees(text: &str) {
    let scanned = scanned(text, MAX_ITEMS).unwrap_or_else(|| panic!("not scanned: {text}"));
    let parsed = by_serde(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(scanned, parsed, "{text}");
    assert_eq!(format!("{scanned:?}"), format!("{parsed:?}"), "{text}");
}

/// When the scanner takes `text`, serde takes it too and agrees; it never panics either way.
/// True when it took it.
fn check_never_disagrees(text: &str) -> bool {
    let Some(scanned) = scanned(text, MAX_ITEMS) else {
        return false;
    };
    let parsed = by_serde(text).unwrap_or_else(|e| panic!("scanned, but serde says {e}: {text}"));
    assert_eq!(format!("{scanned:?}"), format!("{parsed:?}"), "{text}");
    true
}

#[test]
fn the_example_catalogue_scans_as_serde_reads_it() {
    let lines: Vec<&str> = include_str!("../../../../examples/catalogue.jsonl")
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    for line in &lines {
        check_agrees(&format!("[{line}]"));
    }
    check_agrees(&format!("[{}]", lines.join(",")));
    check_agrees(&format!("[\n  {}\n]\n", lines.join(",\n  ")));
}

/// SplitMix64: deterministic, so a failure names a seed that repeats it.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }

    fn chance(&mut self, in_four: usize) -> bool {
        self.below(4) < in_four
    }
}

/// JSON whitespace, as much or as little as JSON allows between tokens.
const WHITESPACE: &[&str] = &["", "", "", " ", "\n", "\t", "\r\n  ", " \n\t "];

const KINDS: &[&str] = &["video", "post", "ad", "notification", "user"];

/// Rating values per system: every kind of spelling, numbers, and values ward does not know.
const RATINGS: &[(&str, &[&str])] = &[
    (
        "bbfc",
        &[
            "\"U\"", "\"PG\"", "\"12A\"", "\"12 a\"", "\"15\"", "\"18\"", "\"R18\"", "\"pg\"",
            "\"NR\"", "12", "15", "18", "0", "\"\"",
        ],
    ),
    (
        "pegi",
        &[
            "3",
            "7",
            "12",
            "16",
            "18",
            "\"12\"",
            "\"PEGI 12\"",
            "5",
            "0",
            "123456789012345678",
        ],
    ),
    (
        "mpaa",
        &[
            "\"G\"",
            "\"PG\"",
            "\"PG-13\"",
            "\"pg 13\"",
            "\"R\"",
            "\"NC-17\"",
            "\"Not Rated\"",
            "\"Ünrated\"",
        ],
    ),
    (
        "tv",
        &[
            "\"TV-Y\"",
            "\"TV-Y7\"",
            "\"tv_14\"",
            "\"TV-MA\"",
            "\"TV PG\"",
            "\"X\"",
        ],
    ),
    ("explicit", &["true", "false"]),
];

/// Words of every shape: harm tags spelt several ways, plain words, non-ASCII, other dashes,
/// and words longer than a name holds in place.
const WORDS: &[&str] = &[
    "violence",
    "Self-Harm",
    "self harm",
    "self–harm",
    "gambling",
    "funny",
    "football",
    "Straße",
    "ÉCOLE",
    "asmr",
    "a-very-long-tag-name-beyond-what-fits-in-place",
    "horror",
    "  spaced  out ",
    "",
];

const AD_CATEGORIES: &[&str] = &[
    "alcohol",
    "gambling",
    "toys",
    "HFSS",
    "films",
    "Toys & Games",
];

const TRIGGERS: &[&str] = &["inactivity", "Inactivity", "new_follower", "streak"];

/// One item's JSON, its fields in a random order, with random whitespace between tokens.
fn item_json(rng: &mut Rng, index: usize) -> String {
    let mut fields: Vec<(String, String)> = Vec::new();
    let id = match rng.below(4) {
        0 => format!("item-{index}"),
        1 => format!("élément-{index}"),
        2 => format!("a-rather-long-item-identifier-{index}"),
        _ => format!(" padded {index} "),
    };
    fields.push(("id".into(), format!("\"{id}\"")));
    fields.push(("kind".into(), format!("\"{}\"", rng.pick(KINDS))));
    if rng.chance(3) {
        let mut ratings = Vec::new();
        for (system, values) in RATINGS {
            if rng.chance(2) {
                ratings.push(((*system).to_owned(), rng.pick(values).to_owned()));
            }
        }
        fields.push(("ratings".into(), object(rng, ratings)));
    }
    for list in ["tags", "topics"] {
        if rng.chance(2) {
            let words: Vec<String> = (0..rng.below(12))
                .map(|_| format!("\"{}\"", rng.pick(WORDS)))
                .collect();
            fields.push((list.into(), array(rng, &words)));
        }
    }
    if rng.chance(1) {
        fields.push((
            "ad_category".into(),
            format!("\"{}\"", rng.pick(AD_CATEGORIES)),
        ));
    }
    if rng.chance(2) {
        fields.push(("source".into(), format!("\"{}\"", rng.pick(WORDS))));
    }
    if rng.chance(1) {
        fields.push(("trigger".into(), format!("\"{}\"", rng.pick(TRIGGERS))));
    }
    for flag in ["assessed", "adult", "known_to_child"] {
        if rng.chance(2) {
            fields.push((flag.into(), rng.pick(&["true", "false"]).to_owned()));
        }
    }
    // Fisher–Yates: serde takes the fields in any order, so the scanner must.
    for idx in (1..fields.len()).rev() {
        let other = rng.below(idx + 1);
        fields.swap(idx, other);
    }
    object(rng, fields)
}

fn object(rng: &mut Rng, fields: Vec<(String, String)>) -> String {
    let mut out = String::from("{");
    for (idx, (key, value)) in fields.into_iter().enumerate() {
        if idx > 0 {
            out.push(',');
        }
        for part in [
            rng.pick(WHITESPACE),
            "\"",
            &key,
            "\"",
            rng.pick(WHITESPACE),
            ":",
            rng.pick(WHITESPACE),
            &value,
            rng.pick(WHITESPACE),
        ] {
            out.push_str(part);
        }
    }
    out.push_str(rng.pick(WHITESPACE));
    out.push('}');
    out
}

fn array(rng: &mut Rng, elements: &[String]) -> String {
    let mut out = String::from("[");
    for (idx, element) in elements.iter().enumerate() {
        if idx > 0 {
            out.push(',');
        }
        out.push_str(rng.pick(WHITESPACE));
        out.push_str(element);
        out.push_str(rng.pick(WHITESPACE));
    }
    out.push_str(rng.pick(WHITESPACE));
    out.push(']');
    out
}

fn feed_json(rng: &mut Rng, n_items: usize) -> String {
    let items: Vec<String> = (0..n_items).map(|index| item_json(rng, index)).collect();
    format!(
        "{}{}{}",
        rng.pick(WHITESPACE),
        array(rng, &items),
        rng.pick(WHITESPACE)
    )
}

#[test]
fn generated_feeds_of_every_shape_scan_as_serde_reads_them() {
    for seed in 0..400 {
        let mut rng = Rng(seed);
        let n_items = rng.below(6);
        check_agrees(&feed_json(&mut rng, n_items));
    }
    // One long feed, as a service sends it.
    check_agrees(&feed_json(&mut Rng(u64::MAX), 2_000));
}

#[test]
fn a_feed_up_to_the_limit_is_scanned_and_one_over_it_is_not() {
    let feed = |n: usize| format!("[{}]", vec![r#"{"id":"a","kind":"post"}"#; n].join(","));
    assert_eq!(scanned(&feed(3), 3).map(|items| items.len()), Some(3));
    assert_eq!(scanned(&feed(4), 3), None);
    assert_eq!(scanned(&feed(0), 3), Some(Vec::new()));
}

/// Bodies serde may well take, or refuse, but the scanner leaves to it.
const LEFT_TO_SERDE: &[(&str, &str)] = &[
    (
        r#"[{"id":"a\u0062","kind":"post"}]"#,
        "an escape in a value",
    ),
    (r#"[{"i\u0064":"a","kind":"post"}]"#, "an escape in a key"),
    (
        r#"[{"id":"a","kind":"post","tags":["x\"y"]}]"#,
        "an escaped quote",
    ),
    (
        "[{\"id\":\"a\tb\",\"kind\":\"post\"}]",
        "a control character",
    ),
    (r#"[{"id":"a","kind":"post","source":null}]"#, "null"),
    (
        r#"[{"id":"a","kind":"post","ratings":null}]"#,
        "null ratings",
    ),
    (
        r#"[{"id":"a","kind":"post","ratings":{"pegi":12.0}}]"#,
        "a float",
    ),
    (
        r#"[{"id":"a","kind":"post","ratings":{"pegi":1e1}}]"#,
        "an exponent",
    ),
    (
        r#"[{"id":"a","kind":"post","ratings":{"pegi":-3}}]"#,
        "a negative number",
    ),
    (
        r#"[{"id":"a","kind":"post","ratings":{"pegi":012}}]"#,
        "a leading zero",
    ),
    (
        r#"[{"id":"a","kind":"post","ratings":{"pegi":1234567890123456789}}]"#,
        "a long number",
    ),
    (
        r#"[{"id":"a","kind":"post","ratings":{"pegi":true}}]"#,
        "a bool rating",
    ),
    (
        r#"[{"id":"a","kind":"post","ratings":{"explicit":"yes"}}]"#,
        "a text flag",
    ),
    (
        r#"[{"id":"a","kind":"post","ratings":{"bbfc":"U","bbfc":"U"}}]"#,
        "a repeated rating",
    ),
    (
        r#"[{"id":"a","kind":"post","ratings":{"esrb":"E"}}]"#,
        "an unknown system",
    ),
    (
        r#"[{"id":"a","kind":"post","tgas":["x"]}]"#,
        "an unknown field",
    ),
    (
        r#"[{"id":"a","kind":"post","kind":"ad"}]"#,
        "a repeated field",
    ),
    (r#"[{"id":"a"}]"#, "no kind"),
    (r#"[{"kind":"post"}]"#, "no id"),
    (r#"[{"id":"  ","kind":"post"}]"#, "a blank id"),
    (r#"[{"id":"a","kind":"film"}]"#, "an unknown kind"),
    (r#"[{"id":1,"kind":"post"}]"#, "a number id"),
    (
        r#"[{"id":"a","kind":"post","assessed":"true"}]"#,
        "a text bool",
    ),
    (
        r#"[{"id":"a","kind":"post","assessed":True}]"#,
        "a misspelt bool",
    ),
    (
        r#"[{"id":"a","kind":"post","assessed":truer}]"#,
        "a bool and more",
    ),
    (
        r#"[{"id":"a","kind":"post","tags":"x"}]"#,
        "a word for a list",
    ),
    (
        r#"[{"id":"a","kind":"post","tags":[1]}]"#,
        "a number in a list",
    ),
    (
        r#"[{"id":"a","kind":"post","tags":["x",]}]"#,
        "a trailing comma in a list",
    ),
    (
        r#"[{"id":"a","kind":"post",}]"#,
        "a trailing comma in an item",
    ),
    (
        r#"[{"id":"a","kind":"post"},]"#,
        "a trailing comma in the feed",
    ),
    (r#"[["a","post"]]"#, "an item as an array"),
    (r#"[{"id":"a","kind":"post"}] x"#, "trailing text"),
    (r#"[{"id":"a","kind":"post"}"#, "no end"),
    (r#"[{"id":"a" "kind":"post"}]"#, "no comma"),
    (r#"[{"id":"a","kind":"post"}]]"#, "a second end"),
    ("\u{FEFF}[]", "a byte order mark"),
    ("[]\u{A0}", "whitespace JSON does not take"),
    ("", "nothing"),
    (r#"{"id":"a","kind":"post"}"#, "an item, not a list"),
];

#[test]
fn the_scanner_leaves_anything_unusual_to_serde() {
    for (text, what) in LEFT_TO_SERDE {
        assert_eq!(scanned(text, MAX_ITEMS), None, "{what}: {text}");
    }
}

/// A body with every field, every rating system, numbers, words of every shape, and
/// whitespace: the one every edit below starts from.
const REPRESENTATIVE: &str = r#"[{"id":"v-1","kind":"video","ratings":{"bbfc":"12A","pegi":12,"mpaa":"PG-13","tv":"TV-14","explicit":false},"tags":["Self-Harm","funny"],"ad_category":"toys","topics":["football","Straße"],"source":"ugc","trigger":"inactivity","assessed":true,"adult":false,"known_to_child":true},
 {"id" : "n-2" , "kind" : "notification" , "trigger" : "Inactivity" , "ratings" : { "pegi" : 0 } , "tags" : [ ] },
 {"id":"u-3","kind":"user","adult":true,"topics":[],"ratings":{}},{"id":"a-4","kind":"ad","ad_category":"alcohol","ratings":{"bbfc":"NR","explicit":true}}]"#;

#[test]
fn every_one_byte_edit_is_scanned_as_serde_reads_it_or_left_to_serde() {
    assert!(check_never_disagrees(REPRESENTATIVE));
    let (mut n_edits, mut n_scanned) = (0, 0);
    for edited in one_byte_edits(REPRESENTATIVE) {
        n_edits += 1;
        n_scanned += usize::from(check_never_disagrees(&edited));
    }
    // Most edits break the body; some (a space, a digit in a word) leave it readable. A
    // scanner that took none, or every one, would not be what this test checks.
    assert!(n_edits > 8 * REPRESENTATIVE.len(), "{n_edits} edits");
    assert!(
        n_scanned > 0 && n_scanned < n_edits / 2,
        "{n_scanned} of {n_edits}"
    );
}
