//! The docs say what the code does: the README's outcome table and the contract page list
//! exactly the statuses and reasons the function has, in its order.

use genesys_wrapup::{Reason, Status};

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// `(status, reason)` of each row of the README's outcome table, in order.
fn outcome_rows() -> Vec<(String, Option<String>)> {
    let readme = read("README.md");
    let table = readme
        .split_once("| status | reason | when |\n|---|---|---|\n")
        .map(|(_, rest)| rest)
        .expect("the README has an outcome table");
    table
        .lines()
        .take_while(|l| l.starts_with('|'))
        .filter_map(|row| {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let status = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let reason = cells
                .get(2)
                .and_then(|r| r.strip_prefix('`')?.strip_suffix('`'));
            Some((status.to_owned(), reason.map(str::to_owned)))
        })
        .collect()
}

#[test]
fn the_readme_outcome_table_lists_every_status_and_reason_in_order() {
    let rows = outcome_rows();
    let mut statuses: Vec<&str> = rows.iter().map(|(s, _)| s.as_str()).collect();
    statuses.dedup();
    let all: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    assert_eq!(statuses, all);
    let reasons: Vec<(&str, &str)> = rows
        .iter()
        .filter_map(|(s, r)| Some((s.as_str(), r.as_deref()?)))
        .collect();
    let all: Vec<(&str, &str)> = Reason::ALL
        .iter()
        .map(|r| (r.status().as_str(), r.as_str()))
        .collect();
    assert_eq!(reasons, all);
}

#[test]
fn the_contract_page_names_every_status_and_reason() {
    let contract = read("docs/contract.md");
    let result = contract
        .split_once("## Result of one invocation")
        .map(|(_, rest)| rest)
        .unwrap();
    for name in Status::ALL
        .iter()
        .map(|s| s.as_str())
        .chain(Reason::ALL.iter().map(|r| r.as_str()))
    {
        assert!(
            result.contains(&format!("`{name}`")) || result.contains(&format!("\"{name}\"")),
            "docs/contract.md does not name {name}"
        );
    }
}

#[test]
fn outcomes_serialise_each_name_as_it_is_spelled_once() {
    for status in Status::ALL {
        assert_eq!(
            serde_json::to_value(status).unwrap(),
            serde_json::json!(status.as_str())
        );
    }
    for reason in Reason::ALL {
        assert_eq!(
            serde_json::to_value(reason).unwrap(),
            serde_json::json!(reason.as_str())
        );
    }
}
