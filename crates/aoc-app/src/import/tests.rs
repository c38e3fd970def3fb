//! Reader tests: every format through `read_file` / `read_from`, with their locations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Cursor;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::reader::read_with_limit;
use super::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

fn domain_fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../aoc-domain/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn read_path(path: &Path) -> (ReadSummary, Vec<RawRecord>) {
    let mut records = Vec::new();
    let summary = read_file(path, &mut |r| {
        records.push(r);
        ControlFlow::Continue(())
    })
    .unwrap();
    (summary, records)
}

fn read_bytes_limited(bytes: &[u8], limit: u64) -> (ReadSummary, Vec<RawRecord>) {
    let mut records = Vec::new();
    let summary = read_with_limit(Cursor::new(bytes), Path::new("test"), limit, &mut |r| {
        records.push(r);
        ControlFlow::Continue(())
    })
    .unwrap();
    (summary, records)
}

fn read_bytes(bytes: &[u8]) -> (ReadSummary, Vec<RawRecord>) {
    read_bytes_limited(bytes, MAX_RECORD_BYTES)
}

fn locations(records: &[RawRecord]) -> Vec<String> {
    records.iter().map(|r| r.location.to_string()).collect()
}

fn values(records: &[RawRecord]) -> Vec<Value> {
    records.iter().map(|r| r.value.clone().unwrap()).collect()
}

fn error_of(record: &RawRecord) -> &str {
    record.value.as_ref().expect_err("an unreadable record")
}

/// 1-based numbers of the lines of `text` that start with `prefix`.
fn lines_starting_with(text: &str, prefix: &str) -> Vec<u64> {
    (1..)
        .zip(text.lines())
        .filter(|(_, l)| l.starts_with(prefix))
        .map(|(n, _)| n)
        .collect()
}

#[test]
fn json_lines_with_a_bad_line_report_it_and_read_the_rest() {
    let path = fixture("records-with-bad-line.jsonl");
    let (summary, records) = read_path(&path);
    assert_eq!(summary.format, FileFormat::JsonLines);
    assert_eq!(summary.end, ReadEnd::Complete);
    assert_eq!((summary.records, summary.unreadable), (5, 1));
    assert_eq!(summary.bytes, std::fs::metadata(&path).unwrap().len());
    // Line 3 is blank and skipped; line 4 is cut short.
    assert_eq!(
        locations(&records),
        ["line 1", "line 2", "line 4", "line 5", "line 6"]
    );
    let bad = error_of(&records[2]);
    assert!(bad.starts_with("invalid JSON: EOF while parsing"), "{bad}");
    assert!(bad.contains("column"), "{bad}");
    assert_eq!(
        records[0].value.as_ref().unwrap(),
        &domain_fixture("unified/sharepoint_file_deleted.json")
    );
    assert_eq!(
        records[3].value.as_ref().unwrap(),
        &domain_fixture("intune/wipe_device.json")
    );
}

#[test]
fn json_lines_tolerate_crlf_blank_lines_and_a_bom_on_any_line() {
    let (summary, records) =
        read_bytes(b"\xEF\xBB\xBF{\"a\":1}\r\n\r\n   \r\n{\"a\":2}\r\n\xEF\xBB\xBF{\"a\":3}");
    assert_eq!(summary.format, FileFormat::JsonLines);
    assert_eq!(
        values(&records),
        [json!({"a":1}), json!({"a":2}), json!({"a":3})]
    );
    assert_eq!(locations(&records), ["line 1", "line 4", "line 5"]);
}

#[test]
fn json_array_streams_elements_with_their_lines() {
    let path = fixture("mixed-array.json");
    let (summary, records) = read_path(&path);
    assert_eq!(summary.format, FileFormat::JsonArray);
    assert_eq!(summary.end, ReadEnd::Complete);
    let text = std::fs::read_to_string(&path).unwrap();
    let starts = lines_starting_with(&text, "    {");
    assert_eq!(starts.len(), 3);
    let expected: Vec<Location> = (1..)
        .zip(&starts)
        .map(|(index, line)| Location::Element { index, line: *line })
        .collect();
    assert_eq!(
        records.iter().map(|r| r.location).collect::<Vec<_>>(),
        expected
    );
    assert_eq!(
        values(&records),
        [
            domain_fixture("directory/add_member_to_group.json"),
            domain_fixture("unified/exchange_set_mailbox.json"),
            domain_fixture("intune/wipe_device.json"),
        ]
    );
}

#[test]
fn a_syntax_error_inside_an_array_keeps_what_came_before() {
    let (summary, records) = read_bytes(b"[{\"a\":1},\n {\"b\": },\n {\"c\":3}]");
    assert_eq!(summary.end, ReadEnd::Abandoned);
    assert_eq!(values(&records[..1]), [json!({"a":1})]);
    assert_eq!(records[1].location, Location::Element { index: 2, line: 2 });
    let reason = error_of(&records[1]);
    assert!(
        reason.contains("line 2 column 8") && reason.contains("rest of the file"),
        "{reason}"
    );
    assert_eq!(records.len(), 2);

    // Broken between elements or at the end: a position, not an element.
    let (_, records) = read_bytes(b"[{\"a\":1}\n{\"b\":2}]");
    assert_eq!(
        records[1].location,
        Location::Position { line: 2, column: 1 }
    );
    let (summary, records) = read_bytes(b"[{\"a\":1},\n{\"b\":2}");
    assert_eq!(summary.end, ReadEnd::Abandoned);
    assert_eq!(records.len(), 3);
    assert!(error_of(&records[2]).contains("EOF"));
}

#[test]
fn array_elements_of_any_json_type_are_handed_over() {
    // Whether an element is a record is for the importer to judge; the reader keeps going.
    let (_, records) = read_bytes(b"[1, \"x\", null, {\"a\":[]}, []]");
    assert_eq!(
        values(&records),
        [
            json!(1),
            json!("x"),
            Value::Null,
            json!({"a":[]}),
            json!([])
        ]
    );
    let (summary, records) = read_bytes(b"  []  ");
    assert_eq!((summary.records, summary.end), (0, ReadEnd::Complete));
    assert!(records.is_empty());
}

#[test]
fn graph_list_response_streams_its_value_array() {
    let path = fixture("graph-directory-audits.json");
    let (summary, records) = read_path(&path);
    assert_eq!(summary.format, FileFormat::GraphList);
    assert_eq!(summary.end, ReadEnd::Complete);
    assert_eq!(
        summary.next_link.as_deref(),
        Some(
            "https://graph.microsoft.com/v1.0/auditLogs/directoryAudits?$top=3&$skiptoken=b2Zmc2V0PTM"
        )
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let starts = lines_starting_with(&text, "    {");
    let found: Vec<u64> = records
        .iter()
        .map(|r| match r.location {
            Location::Element { line, .. } => line,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(found, starts);
    assert_eq!(
        records[2].value.as_ref().unwrap(),
        &domain_fixture("directory/non_ascii_add_owner.json")
    );
}

#[test]
fn graph_list_response_in_one_line_with_keys_around_value() {
    let body = br#"{"@odata.context":"https://graph.microsoft.com/beta/$metadata#deviceManagement/auditEvents","@odata.count":2,"value":[{"id":"1"},{"id":"2"}],"extra":{"value":[{"id":"not streamed"}]},"@odata.nextLink":null}"#;
    let (summary, records) = read_bytes(body);
    assert_eq!(summary.format, FileFormat::GraphList);
    assert_eq!(summary.next_link, None);
    assert_eq!(values(&records), [json!({"id":"1"}), json!({"id":"2"})]);
    assert_eq!(
        locations(&records),
        ["element 1 (line 1)", "element 2 (line 1)"]
    );
}

#[test]
fn a_single_object_is_one_record() {
    let (summary, records) = read_bytes(b"\n\n{\n  \"CreationTime\": \"2024-03-05T14:07:33\",\n  \"Operation\": \"Set-Mailbox\"\n}\n");
    assert_eq!(summary.format, FileFormat::JsonObject);
    assert_eq!(summary.end, ReadEnd::Complete);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].location, Location::Line { line: 3 });
    assert_eq!(
        records[0].value.as_ref().unwrap()["Operation"],
        "Set-Mailbox"
    );
}

#[test]
fn content_after_a_single_object_is_reported() {
    let (summary, records) = read_bytes(b"{\n  \"a\": 1\n}\n{\n  \"a\": 2\n}\n");
    assert_eq!(summary.end, ReadEnd::Abandoned);
    assert_eq!(values(&records[..1]), [json!({"a":1})]);
    assert_eq!(
        records[1].location,
        Location::Position { line: 4, column: 1 }
    );
    assert!(error_of(&records[1]).contains("unexpected content after the JSON object"));

    let (_, records) = read_bytes(b"{\n  \"a\": 1,\n  \"b\": \n");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].location, Location::Line { line: 1 });
    assert!(error_of(&records[0]).contains("EOF while parsing"));
}

#[test]
fn classic_purview_csv_with_bom_crlf_and_doubled_quotes() {
    let path = fixture("purview-classic.csv");
    let raw = std::fs::read(&path).unwrap();
    assert!(raw.starts_with(b"\xEF\xBB\xBFCreationDate,") && raw.windows(2).any(|w| w == b"\r\n"));
    let (summary, records) = read_path(&path);
    assert_eq!(summary.format, FileFormat::PurviewCsv(CsvLayout::Classic));
    assert_eq!(summary.encoding, Encoding::Utf8);
    assert_eq!(
        (summary.records, summary.unreadable, summary.end),
        (3, 0, ReadEnd::Complete)
    );
    assert_eq!(
        locations(&records),
        ["row 1 (line 2)", "row 2 (line 3)", "row 3 (line 4)"]
    );
    let exchange = records[0].value.as_ref().unwrap();
    assert_eq!(
        exchange,
        &domain_fixture("unified/exchange_set_mailbox.json")
    );
    assert_eq!(
        exchange["Parameters"][1]["Value"],
        "smtp:bob.external@fabrikam.com"
    );
    assert_eq!(
        records[1].value.as_ref().unwrap(),
        &domain_fixture("unified/sharepoint_file_deleted.json")
    );
    // Escaped CR/LF inside JSON strings survive the CSV quoting.
    assert_eq!(
        records[2].value.as_ref().unwrap(),
        &domain_fixture("unified/aad_update_user.json")
    );
}

#[test]
fn current_purview_csv_with_a_damaged_audit_data_row() {
    let (summary, records) = read_path(&fixture("purview-current.csv"));
    assert_eq!(summary.format, FileFormat::PurviewCsv(CsvLayout::Current));
    assert_eq!(
        (summary.records, summary.unreadable, summary.end),
        (3, 1, ReadEnd::Complete)
    );
    assert_eq!(
        locations(&records),
        ["row 1 (line 2)", "row 2 (line 3)", "row 3 (line 4)"]
    );
    assert_eq!(
        records[0].value.as_ref().unwrap(),
        &domain_fixture("unified/exchange_set_mailbox.json")
    );
    let bad = error_of(&records[1]);
    assert!(
        bad.starts_with("AuditData: invalid JSON: EOF while parsing"),
        "{bad}"
    );
    assert_eq!(
        records[2].value.as_ref().unwrap(),
        &domain_fixture("unified/sharepoint_file_deleted.json")
    );
}

#[test]
fn csv_headers_any_case_and_order_quoted_line_breaks_and_odd_rows() {
    let csv = concat!(
        "Operation,auditdata,RECORDID,Notes\r\n",
        "Set-Mailbox,\"{\"\"Operation\"\":\"\"Set-Mailbox\"\",\"\"Say\"\":\"\"\\\"\"hi\\\"\"\"\"}\",1,\"two\r\nlines\"\r\n",
        "\r\n",
        "FileDeleted,\"{\"\"Operation\"\":\"\"FileDeleted\"\"}\",2,\r\n",
        "Operation,AuditData,RecordId,Notes\r\n",
        "Empty,,3,\r\n",
        "Short\r\n",
        "Last,  {\"a\":1}  ,4,\r\n",
    );
    let (summary, records) = read_bytes(csv.as_bytes());
    assert_eq!(summary.format, FileFormat::PurviewCsv(CsvLayout::Current));
    // The repeated header (row 3) is skipped without a record.
    assert_eq!(
        locations(&records),
        [
            "row 1 (line 2)",
            "row 2 (line 5)",
            "row 4 (line 7)",
            "row 5 (line 8)",
            "row 6 (line 9)"
        ]
    );
    assert_eq!(
        records[0].value.as_ref().unwrap(),
        &json!({"Operation":"Set-Mailbox","Say":"\"hi\""})
    );
    assert_eq!(
        records[1].value.as_ref().unwrap(),
        &json!({"Operation":"FileDeleted"})
    );
    assert_eq!(error_of(&records[2]), "AuditData is empty");
    assert_eq!(error_of(&records[3]), "the row has no AuditData field");
    assert_eq!(records[4].value.as_ref().unwrap(), &json!({"a":1}));
}

#[test]
fn a_header_only_csv_has_no_records() {
    let (summary, records) = read_bytes(b"CreationDate,UserIds,Operations,AuditData\r\n");
    assert_eq!((summary.records, summary.end), (0, ReadEnd::Complete));
    assert!(records.is_empty());
}

#[test]
fn utf16_exports_are_read() {
    // What `... | Select-Object -ExpandProperty AuditData > out.json` writes in Windows PowerShell.
    let text = "{\"Operation\":\"FileDeleted\",\"UserId\":\"zoë@contoso.com\"}\r\n{\"Operation\":\"x\"}\r\n";
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let (summary, records) = read_bytes(&bytes);
    assert_eq!(
        (summary.format, summary.encoding),
        (FileFormat::JsonLines, Encoding::Utf16Le)
    );
    assert_eq!(
        records[0].value.as_ref().unwrap()["UserId"],
        "zoë@contoso.com"
    );
    assert_eq!(records.len(), 2);
    assert_eq!(summary.bytes, bytes.len() as u64);
}

#[test]
fn the_callback_can_stop_reading_in_every_format() {
    let inputs: [&[u8]; 5] = [
        b"[{\"a\":1},{\"a\":2}]",
        b"{\"value\":[{\"a\":1},{\"a\":2}]}",
        b"{\"a\":1}\n{\"a\":2}\n",
        b"AuditData\n\"{\"\"a\"\":1}\"\n\"{\"\"a\"\":2}\"\n",
        b"{\"a\":1}",
    ];
    for input in inputs {
        let mut seen = 0;
        let summary = read_from(Cursor::new(input), Path::new("t"), &mut |_| {
            seen += 1;
            ControlFlow::Break(())
        })
        .unwrap();
        assert_eq!(
            (seen, summary.records, summary.end),
            (1, 1, ReadEnd::Stopped),
            "{}",
            summary.format
        );
    }
}

#[test]
fn oversized_records_are_refused_without_being_held() {
    let big = format!("{{\"a\":\"{}\"}}", "x".repeat(500));

    // JSON lines: the long line is skipped, the next one read.
    let input = format!("{{\"a\":1}}\n{big}\n{{\"a\":2}}\n");
    let (summary, records) = read_bytes_limited(input.as_bytes(), 200);
    assert_eq!(summary.end, ReadEnd::Complete);
    assert_eq!(
        error_of(&records[1]),
        "record is larger than 200 bytes; the line was skipped"
    );
    assert_eq!(values(&records[2..]), [json!({"a":2})]);

    // An array element (an unterminated string, say) ends the file.
    let input = format!("[{{\"a\":1}},\n{big}]");
    let (summary, records) = read_bytes_limited(input.as_bytes(), 200);
    assert_eq!(summary.end, ReadEnd::Abandoned);
    assert_eq!(records[1].location, Location::Element { index: 2, line: 2 });
    assert!(error_of(&records[1]).starts_with("record is larger than 200 bytes"));

    // A CSV row is skipped: a long one, or one that never ends (an unbalanced quote).
    let input = format!(
        "AuditData,Other\n\"{{}}\",{}\n\"{{}}\"\n\"{{\"\"a\"\":1}}\n{}\n",
        "z".repeat(300),
        "y,".repeat(300)
    );
    let (summary, records) = read_bytes_limited(input.as_bytes(), 200);
    assert_eq!(summary.end, ReadEnd::Complete);
    assert_eq!(
        locations(&records),
        ["row 1 (line 2)", "row 2 (line 3)", "row 3 (line 4)"]
    );
    assert!(error_of(&records[0]).contains("is a quote unbalanced?"));
    assert_eq!(values(&records[1..2]), [json!({})]);
    assert!(error_of(&records[2]).contains("the row was skipped"));
}

#[test]
fn unreadable_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-export.json");
    let err = read_file(&missing, &mut |_| ControlFlow::Continue(())).unwrap_err();
    assert!(matches!(err, ImportError::Io { .. }));
    assert!(err.to_string().contains("no-such-export.json"), "{err}");

    for (name, content, expected) in [
        ("empty.json", &b"\xEF\xBB\xBF \r\n"[..], "the file is empty"),
        ("export.xlsx", b"PK\x03\x04\x14\x00binary", "not JSON"),
        (
            "users.csv",
            b"DisplayName,UserPrincipalName\nBob,bob@contoso.com\n",
            "AuditData",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let err = read_file(&path, &mut |_| ControlFlow::Continue(())).unwrap_err();
        assert!(matches!(err, ImportError::UnknownFormat { .. }), "{err}");
        let message = err.to_string();
        assert!(
            message.contains(name) && message.contains(expected),
            "{message}"
        );
        assert!(matches!(
            detect_format(&path),
            Err(ImportError::UnknownFormat { .. })
        ));
    }

    let err = read_file(dir.path(), &mut |_| ControlFlow::Continue(())).unwrap_err();
    assert!(
        err.to_string().contains(&*dir.path().to_string_lossy()),
        "{err}"
    );
}

#[test]
fn format_is_read_from_content_not_the_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("looks-like.csv");
    std::fs::copy(fixture("graph-directory-audits.json"), &path).unwrap();
    assert_eq!(detect_format(&path).unwrap(), FileFormat::GraphList);
    assert_eq!(read_path(&path).1.len(), 3);
}
