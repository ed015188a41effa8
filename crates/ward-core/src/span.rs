//! Source positions: byte spans into a `ward.toml` and their 1-based line and column.
//!
//! Spans are kept as byte offsets (what the TOML parser reports) and turned into lines and
//! columns only when a finding is shown. Columns count characters, not bytes, so a name with
//! accents lines up in an editor. This module knows nothing about TOML or rules.

use std::ops::Range;

/// A half-open byte range `start..end` into the policy source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Span {
    /// First byte of the span.
    pub start: usize,
    /// One past the last byte of the span.
    pub end: usize,
}

impl Span {
    /// A span covering `range`.
    pub fn new(range: Range<usize>) -> Self {
        Self {
            start: range.start,
            end: range.end.max(range.start),
        }
    }

    /// The byte range, for slicing the source.
    pub fn range(self) -> Range<usize> {
        self.start..self.end
    }

    /// True when the span covers nothing (for example a field the file does not write).
    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

impl From<Range<usize>> for Span {
    fn from(range: Range<usize>) -> Self {
        Self::new(range)
    }
}

/// A 1-based line and column (columns in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
}

/// Where each line of a source starts, to turn byte offsets into [`Position`]s.
#[derive(Debug, Clone)]
pub struct LineIndex<'src> {
    source: &'src str,
    line_starts: Vec<usize>,
}

impl<'src> LineIndex<'src> {
    /// Indexes `source`.
    pub fn new(source: &'src str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(source.match_indices('\n').map(|(idx, _)| idx + 1));
        Self {
            source,
            line_starts,
        }
    }

    /// The position of byte `offset` (clamped to the source, and to a character boundary).
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.source.len());
        while !self.source.is_char_boundary(offset) {
            offset -= 1;
        }
        let line_idx = match self.line_starts.binary_search(&offset) {
            Ok(idx) => idx,
            Err(idx) => idx - 1,
        };
        let line_start = self.line_starts[line_idx];
        let column = self.source[line_start..offset].chars().count() + 1;
        Position {
            line: line_idx + 1,
            column,
        }
    }

    /// Start and end positions of `span`, with trailing blank lines and spaces trimmed so a
    /// table's span ends on its last written character. The end is exclusive: the column just
    /// after the last character, as in SARIF.
    pub fn span_positions(&self, span: Span) -> (Position, Position) {
        let span = self.trim(span);
        (self.position(span.start), self.position(span.end))
    }

    /// `span` without trailing whitespace, widened to whole characters. A span of nothing
    /// but whitespace keeps its first character, so there is always something to point at.
    pub fn trim(&self, span: Span) -> Span {
        let source = self.source;
        let end = ceil_char_boundary(source, span.end.min(source.len()));
        let start = floor_char_boundary(source, span.start.min(end));
        let text = source.get(start..end).unwrap_or("");
        let trimmed = text.trim_end().len();
        let kept = if trimmed == 0 {
            // INVARIANT: keep a whole character, never a byte inside one (a lone no-break
            // space trims to nothing and is two bytes long).
            text.chars().next().map_or(0, char::len_utf8)
        } else {
            trimmed
        };
        Span {
            start,
            end: start + kept,
        }
    }
}

/// The largest character boundary at or before `idx`.
fn floor_char_boundary(text: &str, mut idx: usize) -> usize {
    while idx > 0 && !text.is_char_boundary(idx) {
        idx -= 1;
    }
    idx
}

/// The smallest character boundary at or after `idx` (at most the length).
fn ceil_char_boundary(text: &str, mut idx: usize) -> usize {
    while idx < text.len() && !text.is_char_boundary(idx) {
        idx += 1;
    }
    idx.min(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let index = LineIndex::new("ab\nçd\n");
        assert_eq!(index.position(0), Position { line: 1, column: 1 });
        assert_eq!(index.position(3), Position { line: 2, column: 1 });
        // `ç` is two bytes: the `d` after it is the second character.
        assert_eq!(index.position(5), Position { line: 2, column: 2 });
        assert_eq!(index.position(99), Position { line: 3, column: 1 });
    }

    #[test]
    fn a_span_of_only_a_wide_space_keeps_the_whole_character() {
        // `[`, a no-break space (two bytes), `]`: found by fuzzing; it once ended a span
        // inside the space and the human report panicked.
        let source = "[\u{a0}]";
        let index = LineIndex::new(source);
        let trimmed = index.trim(Span::new(1..3));
        assert_eq!((trimmed.start, trimmed.end), (1, 3));
        let trimmed = index.trim(Span::new(2..3));
        assert!(source.is_char_boundary(trimmed.start) && source.is_char_boundary(trimmed.end));
    }

    #[test]
    fn a_table_span_ends_on_its_last_written_character() {
        let source = "[a]\nx = 1\n\n";
        let index = LineIndex::new(source);
        let (start, end) = index.span_positions(Span::new(0..source.len()));
        assert_eq!(start, Position { line: 1, column: 1 });
        assert_eq!(end, Position { line: 2, column: 6 });
    }
}
