//! The docs say what the code does: the README's outcome table and the contract page list
//! exactly the statuses and reasons the function has, in its order.

use genesys_wrapup::{Reason, Status, TransientKind};

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
        .split_once("## What it answers")
        .map(|(_, rest)| rest)
        .unwrap();
    for name in Status::ALL
        .iter()
        .map(|s| s.as_str())
        .chain(Reason::ALL.iter().map(|r| r.as_str()))
        .chain(TransientKind::ALL.iter().map(|k| k.as_str()))
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

#[test]
fn the_readme_configuration_table_names_every_variable_the_function_reads() {
    let asked = std::cell::RefCell::new(Vec::<String>::new());
    genesys_wrapup::Settings::from_lookup(|name| {
        asked.borrow_mut().push(name.to_owned());
        (name == "GENESYS_SECRET_ID").then(|| "genesys/wrapup-client".to_owned())
    })
    .unwrap();
    let readme = read("README.md");
    let table = readme
        .split_once("## Configuration\n")
        .and_then(|(_, rest)| rest.split_once("\n## "))
        .map(|(table, _)| table)
        .unwrap();
    let asked = asked.into_inner();
    assert!(asked.len() > 20, "{asked:?}");
    for name in asked {
        assert!(
            table.contains(&format!("`{name}`")),
            "the README's configuration table does not name {name}"
        );
    }
}

#[test]
fn docs_speak_about_the_project_only() {
    let mut pages = vec!["README.md".to_owned()];
    for entry in std::fs::read_dir(format!("{}/docs", env!("CARGO_MANIFEST_DIR"))).unwrap() {
        pages.push(format!(
            "docs/{}",
            entry.unwrap().file_name().to_string_lossy()
        ));
    }
    for page in pages {
        let text = read(&page).to_lowercase();
        for phrase in [
            "issue ",
            "issue's",
            "yours to design",
            "facts file",
            "shared/docs",
        ] {
            assert!(!text.contains(phrase), "{page} says {phrase:?}");
        }
    }
}

#[test]
fn the_release_profile_and_the_build_are_each_described_once() {
    let manifest = read("Cargo.toml");
    let profile = manifest
        .split_once("[profile.release]\n")
        .map(|(_, rest)| rest.split("\n\n").next().unwrap_or(""))
        .unwrap();
    // cargo-lambda fills in any of these the profile leaves out; panic among them.
    for key in ["lto", "codegen-units", "strip", "panic"] {
        assert!(
            profile.lines().any(|l| l.starts_with(&format!("{key} ="))),
            "[profile.release] must set {key}: cargo-lambda would choose otherwise"
        );
    }
    for page in [
        "docs/performance.md",
        "docs/security.md",
        "docs/reliability.md",
    ] {
        let text = read(page);
        assert!(
            !text.contains("panic = "),
            "{page} restates the panic strategy"
        );
        assert!(
            !text.contains("cargo lambda build"),
            "{page} describes the build again"
        );
    }
    assert!(read("README.md").contains("### How the deployed binary is built"));
}

/// The lines of every fenced code block of a page.
fn code_lines(page: &str) -> Vec<String> {
    let mut inside = false;
    let mut lines = Vec::new();
    for line in page.lines() {
        if line.trim_start().starts_with("```") {
            inside = !inside;
        } else if inside {
            lines.push(line.trim().to_owned());
        }
    }
    lines
}

#[test]
fn upgrades_keep_what_the_operator_chose_and_removal_names_what_is_kept() {
    // The operator's answers live in a file git ignores; the tracked one holds none.
    assert!(read(".gitignore")
        .lines()
        .any(|l| l.trim() == "samconfig.local.toml"));
    assert!(!read("samconfig.toml").contains("parameter_overrides"));
    let readme = read("README.md");
    let mut pages = vec![("README.md".to_owned(), readme.clone())];
    for entry in std::fs::read_dir(format!("{}/docs", env!("CARGO_MANIFEST_DIR"))).unwrap() {
        let name = format!("docs/{}", entry.unwrap().file_name().to_string_lossy());
        let text = read(&name);
        pages.push((name, text));
    }
    let mut deploys = 0;
    for (name, text) in &pages {
        for line in code_lines(text) {
            if line.contains("sam deploy") {
                deploys += 1;
                // Every deploy reads (and a guided one saves) the operator's own answers; a
                // bare --parameter-overrides would be forgotten by the next deploy.
                assert!(
                    line.contains("--config-file samconfig.local.toml"),
                    "{name}: {line}"
                );
                assert!(!line.contains("--parameter-overrides"), "{name}: {line}");
            }
        }
    }
    assert!(deploys >= 3, "{deploys}");
    let section = |title: &str| {
        readme
            .split_once(&format!("\n## {title}\n"))
            .and_then(|(_, rest)| rest.split("\n## ").next())
            .unwrap_or_else(|| panic!("the README has no {title} section"))
            .to_owned()
    };
    let upgrading = section("Upgrading");
    for step in [
        "git pull",
        "sam build",
        "sam deploy --config-file samconfig.local.toml",
        "doctor --function",
    ] {
        assert!(upgrading.contains(step), "Upgrading lacks {step}");
    }
    // Removing gives the command for each kind of resource the template keeps on delete.
    let removing = section("Removing");
    let template = read("template.yaml");
    for (kind, command) in [
        ("AWS::SQS::Queue", "aws sqs delete-queue"),
        ("AWS::DynamoDB::Table", "aws dynamodb delete-table"),
        ("AWS::Logs::LogGroup", "aws logs delete-log-group"),
    ] {
        let retained = template.split("\n\n").any(|block| {
            block.contains(&format!("Type: {kind}")) && block.contains("DeletionPolicy: Retain")
        });
        assert!(retained, "{kind} is kept on delete");
        assert!(removing.contains(command), "Removing lacks {command}");
    }
}
