//! A tiny RFC 4180 CSV reader for a wheel's RECORD.
//!
//! RECORD is written by Python's `csv` module, so a path holding a comma or
//! a quote arrives quoted (`"a,b.py",sha256=…,3`, `""` for a quote inside).
//! Splitting on commas would misread those rows, and a full CSV crate is
//! more than three columns need. Rows end with LF or CRLF; a quoted field
//! may span lines; blank lines are skipped, as Python's reader does.
//! Anything else (a stray quote, an unterminated one) is an error rather
//! than a guess, because RECORD is evidence.
//!
//! What it keeps is bounded, since each kept field costs far more than its
//! bytes: at most [`MAX_ROWS`] rows (a wheel without zip64 holds at most
//! 65,535 members, one row each) and [`MAX_FIELDS_KEPT`] fields per row
//! (the rest only counted: RECORD has three).

/// Rows a RECORD may hold.
pub(crate) const MAX_ROWS: usize = 65_536;

/// Fields kept per row; more are counted, not kept.
pub(crate) const MAX_FIELDS_KEPT: usize = 4;

/// One row: the 1-based line it starts on, its first fields, and how many
/// it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    pub line: usize,
    pub fields: Vec<String>,
    pub count: usize,
}

/// A syntax error: the 1-based line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CsvError {
    pub line: usize,
    pub reason: &'static str,
}

/// Parse `text` into rows.
pub(crate) fn parse(text: &str) -> Result<Vec<Row>, CsvError> {
    let mut rows = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        let start = line;
        let mut fields = Vec::new();
        let mut count = 0usize;
        // Keeps a finished field while there is room, and counts it.
        let mut keep = |fields: &mut Vec<String>, field: &mut String| {
            count += 1;
            let field = std::mem::take(field);
            if fields.len() < MAX_FIELDS_KEPT {
                fields.push(field);
            }
        };
        let mut field = String::new();
        let mut quoted_field = false;
        loop {
            match chars.next() {
                None => {
                    keep(&mut fields, &mut field);
                    break;
                }
                Some('\n') => {
                    line += 1;
                    keep(&mut fields, &mut field);
                    break;
                }
                Some('\r') if chars.peek() == Some(&'\n') => {}
                Some(',') => {
                    keep(&mut fields, &mut field);
                    quoted_field = false;
                }
                Some('"') if field.is_empty() && !quoted_field => {
                    quoted_field = true;
                    loop {
                        match chars.next() {
                            None => {
                                return Err(CsvError {
                                    line: start,
                                    reason: "unterminated quoted field",
                                });
                            }
                            Some('"') if chars.peek() == Some(&'"') => {
                                chars.next();
                                field.push('"');
                            }
                            Some('"') => break,
                            Some(c) => {
                                if c == '\n' {
                                    line += 1;
                                }
                                field.push(c);
                            }
                        }
                    }
                    match chars.peek() {
                        None | Some(',' | '\n' | '\r') => {}
                        Some(_) => {
                            return Err(CsvError {
                                line,
                                reason: "text after a closing quote",
                            });
                        }
                    }
                }
                Some('"') => {
                    return Err(CsvError {
                        line,
                        reason: "quote inside an unquoted field",
                    });
                }
                Some(_) if quoted_field => {
                    // Only reachable for a bare CR after a closing quote.
                    return Err(CsvError {
                        line,
                        reason: "text after a closing quote",
                    });
                }
                Some(c) => field.push(c),
            }
        }
        let blank = count == 1 && fields[0].is_empty() && !quoted_field;
        if !blank {
            if rows.len() == MAX_ROWS {
                return Err(CsvError {
                    line: start,
                    reason: "more than 65,536 rows (a wheel has at most 65,535 members, one row each)",
                });
            }
            rows.push(Row {
                line: start,
                fields,
                count,
            });
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<Vec<String>> {
        parse(text).unwrap().into_iter().map(|r| r.fields).collect()
    }

    #[test]
    fn rows_and_fields_kept_are_bounded() {
        // A row of a million fields keeps four and counts them all.
        let wide = format!("a{}\n", ",".repeat(999_999));
        let rows = parse(&wide).unwrap();
        assert_eq!((rows[0].fields.len(), rows[0].count), (4, 1_000_000));
        // More rows than a wheel can have members: an error at the first
        // row past the bound, before keeping it.
        let ok = "x,,\n".repeat(MAX_ROWS);
        assert_eq!(parse(&ok).unwrap().len(), MAX_ROWS);
        let e = parse(&"x,,\n".repeat(3_000_000)).unwrap_err();
        assert_eq!(e.line, MAX_ROWS + 1);
        assert!(
            e.reason.starts_with("more than 65,536 rows"),
            "{}",
            e.reason
        );
    }

    #[test]
    fn plain_rows_lf_and_crlf() {
        assert_eq!(
            fields("a.py,sha256=x,1\r\nRECORD,,\n"),
            vec![vec!["a.py", "sha256=x", "1"], vec!["RECORD", "", ""]]
        );
    }

    #[test]
    fn quoted_fields_with_commas_quotes_and_newlines() {
        assert_eq!(
            fields("\"a,b.py\",sha256=x,1\n\"say \"\"hi\"\".txt\",h,2\n\"two\nlines\",h,3"),
            vec![
                vec!["a,b.py", "sha256=x", "1"],
                vec!["say \"hi\".txt", "h", "2"],
                vec!["two\nlines", "h", "3"],
            ]
        );
        let rows = parse("\"two\nlines\",h,3\nnext,h,4\n").unwrap();
        assert_eq!((rows[0].line, rows[1].line), (1, 3));
    }

    #[test]
    fn blank_lines_are_skipped_but_an_empty_quoted_field_is_a_row() {
        assert_eq!(fields("\n\na,b,c\n\n"), vec![vec!["a", "b", "c"]]);
        assert_eq!(fields("\"\"\n"), vec![vec![""]]);
    }

    #[test]
    fn malformed_quoting_is_an_error() {
        assert_eq!(
            parse("ok,1,2\n\"open,1,2\n").unwrap_err(),
            CsvError {
                line: 2,
                reason: "unterminated quoted field"
            }
        );
        assert_eq!(
            parse("a\"b,1,2").unwrap_err().reason,
            "quote inside an unquoted field"
        );
        assert_eq!(
            parse("\"a\"b,1,2").unwrap_err().reason,
            "text after a closing quote"
        );
        assert_eq!(
            parse("\"a\"\rb,1,2").unwrap_err().reason,
            "text after a closing quote"
        );
    }
}
