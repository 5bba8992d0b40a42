//! Integration tests of `latchkey-policy` through its public API, one module per area.

mod pinyin_names;
