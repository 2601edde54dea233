//! Cases of a dataset: `cases` lists them; `rm` and `rm-cases` delete.

use std::io::Write;

use datasets_core::ServerKind;
use datasets_core::blocking::DatasetsClient;
use datasets_core::wire::CaseDetail;

use crate::cli::{CasesArgs, RmCasesArgs};
use crate::fail::{Failure, Outcome};
use crate::output::{Table, compact, version_ref};

/// `datasets cases NAME`: a table, a JSON array or JSON lines, streamed a
/// page at a time.
pub(crate) fn list(client: &DatasetsClient, args: &CasesArgs) -> Outcome {
    let mut request = client.list_cases(&args.name).tags(&args.tags);
    if let Some(limit) = args.limit {
        request = request.page_size(limit.clamp(1, 1000));
    }
    if let Some(version) = &args.version {
        request = request.version(version_ref(version));
    }
    let cases = request.iter().take(args.limit.unwrap_or(usize::MAX));
    let mut out = std::io::stdout().lock();
    if args.jsonl || args.json {
        let mut first = true;
        if args.json {
            write!(out, "[")?;
        }
        for case in cases {
            let text = serde_json::to_string(&case?).map_err(std::io::Error::from)?;
            if args.json {
                write!(out, "{}\n  {text}", if first { "" } else { "," })?;
            } else {
                writeln!(out, "{text}")?;
            }
            first = false;
        }
        if args.json {
            writeln!(out, "{}]", if first { "" } else { "\n" })?;
        }
        return Ok(());
    }
    let mut table = Table::new(vec!["ID", "NAME", "TAGS", "INPUTS", "EXPECTED OUTPUT"]);
    for case in cases {
        let case: CaseDetail = case?;
        table.row(vec![
            case.id.to_string(),
            case.name.unwrap_or_default(),
            case.tags.join(","),
            compact(&case.inputs),
            case.expected_output
                .as_ref()
                .map(compact)
                .unwrap_or_default(),
        ]);
    }
    table.print(&mut out)
}

/// `datasets rm NAME`.
pub(crate) fn remove_dataset(client: &DatasetsClient, name: &str, yes: bool) -> Outcome {
    let dataset = client.get_dataset(name).send()?;
    if !yes
        && !crate::confirm(&format!(
            "delete dataset {:?} and its {} case(s)",
            dataset.name, dataset.case_count
        ))?
    {
        return Err(Failure::failed("nothing deleted"));
    }
    client.delete_dataset(dataset.id.to_string()).send()?;
    println!(
        "deleted dataset {} and its {} case(s)",
        dataset.name, dataset.case_count
    );
    Ok(())
}

/// `datasets rm-cases NAME (--id ID... | --tag TAG...)`.
pub(crate) fn remove_cases(client: &DatasetsClient, args: &RmCasesArgs) -> Outcome {
    // Fails here, before asking, when the dataset does not exist.
    let dataset = client.get_dataset(&args.name).send()?;
    let what = if args.ids.is_empty() {
        format!("the cases tagged {}", args.tags.join(" or "))
    } else {
        format!("{} case(s) by id", args.ids.len())
    };
    if !args.yes && !crate::confirm(&format!("delete {what} from {:?}", dataset.name))? {
        return Err(Failure::failed("nothing deleted"));
    }
    let deleted = if client.server_kind() == ServerKind::Logfire {
        // Logfire's API has no bulk deletion: one request per case.
        let ids = if args.ids.is_empty() {
            client
                .list_cases(&args.name)
                .tags(&args.tags)
                .send()?
                .into_iter()
                .map(|case| case.id)
                .collect()
        } else {
            args.ids.clone()
        };
        let mut deleted = 0;
        for id in ids {
            match client.delete_case(&args.name, id).send() {
                Ok(()) => deleted += 1,
                Err(datasets_core::Error::CaseNotFound { .. }) => {}
                Err(err) => {
                    return Err(Failure::from(err)
                        .context(format!("after deleting {deleted} case(s), case {id}")));
                }
            }
        }
        deleted
    } else if args.ids.is_empty() {
        client.delete_cases(&args.name).tags(&args.tags).send()?
    } else {
        client
            .delete_cases(&args.name)
            .ids(args.ids.clone())
            .send()?
    };
    println!("deleted {deleted} case(s) from {}", dataset.name);
    Ok(())
}
