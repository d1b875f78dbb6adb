//! The Waldiez tasks every simulator starts with, and their scripts: agents filling a
//! checkout form and asking before paying, a password prompt, a short task that ends.

use serde_json::json;

use super::plan::{WaldiezPlan, WaldiezStatus, WaldiezStep};

/// The demo tasks every simulator starts with: (id, description). `demo` and `human`
/// share their ids with the Optexity demo tasks, so a picture and a log of the same task
/// pair up.
pub(crate) const DEMO_WALDIEZ_TASKS: [(&str, &str); 4] = [
    (
        "demo",
        "running: agents fill a checkout form, asking the operator every ~20 s",
    ),
    (
        "human",
        "running: asks for a password first, then a normal question",
    ),
    ("done", "completed (refuses viewers)"),
    (
        "short",
        "runs ~5 s, then completes with a termination (starts over 30 s later)",
    ),
];

/// The demo plans, paced at `step_ms` a step with prompts timing out after
/// `input_timeout_ms`.
pub(crate) fn demo_plans(step_ms: u64, input_timeout_ms: u64) -> Vec<(&'static str, WaldiezPlan)> {
    let paced = |steps, repeat| WaldiezPlan {
        step_ms,
        input_timeout_ms,
        repeat,
        ..WaldiezPlan::new(steps)
    };
    let short = WaldiezPlan {
        restart_after_ms: Some(step_ms.saturating_mul(30)),
        ..paced(short_steps(), false)
    };
    let done = WaldiezPlan::finished(WaldiezStatus::Completed, short_steps());
    vec![
        ("demo", paced(demo_steps(step_ms), true)),
        ("human", paced(human_steps(step_ms), true)),
        ("done", done),
        ("short", short),
    ]
}

const PLANNER: &str = "assistant";

const OPERATOR: &str = "user_proxy";

const EXECUTOR: &str = "executor";

/// About 20 steps: open the checkout, fill it, ask before placing the order, place it.
fn demo_steps(step_ms: u64) -> Vec<WaldiezStep> {
    use WaldiezStep as S;
    vec![
        S::print("Starting flow: checkout assistant"),
        S::text(
            OPERATOR,
            PLANNER,
            "Fill in the checkout form for order #1042 and ask me before paying.",
        ),
        S::text(
            PLANNER,
            OPERATOR,
            "I'll open the checkout page and fill in the shipping details.",
        ),
        S::tool_call(
            PLANNER,
            EXECUTOR,
            "call_open",
            "open_page",
            json!({ "url": "https://shop.example/checkout" }),
        ),
        S::tool_response(
            EXECUTOR,
            PLANNER,
            "call_open",
            "Checkout page loaded: 3 fields, 1 button",
        ),
        S::tool_call(
            PLANNER,
            EXECUTOR,
            "call_name",
            "fill_field",
            json!({ "field": "name", "value": "Ada Lovelace" }),
        ),
        S::tool_response(EXECUTOR, PLANNER, "call_name", "ok"),
        S::tool_call(
            PLANNER,
            EXECUTOR,
            "call_address",
            "fill_field",
            json!({ "field": "address", "value": "12 Analytical Street, London" }),
        ),
        S::tool_response(EXECUTOR, PLANNER, "call_address", "ok"),
        S::text(
            PLANNER,
            OPERATOR,
            "The shipping details are in. The order total is €42.90.",
        ),
        S::ask("Place the order for €42.90? (yes/no) "),
        S::text(PLANNER, OPERATOR, "Thanks, going on."),
        S::tool_call(
            PLANNER,
            EXECUTOR,
            "call_place",
            "click",
            json!({ "selector": "#place-order" }),
        ),
        S::tool_response(EXECUTOR, PLANNER, "call_place", "Order #1042 placed"),
        S::text(
            PLANNER,
            OPERATOR,
            "Order #1042 is placed. Starting the next one.",
        ),
        S::Pause(step_ms.saturating_mul(4)),
    ]
}

/// A password prompt early, then a normal question, then some work.
fn human_steps(step_ms: u64) -> Vec<WaldiezStep> {
    use WaldiezStep as S;
    vec![
        S::print("Connecting to reports.example"),
        S::text(PLANNER, OPERATOR, "I need the service password to sign in."),
        S::password("Password for reports.example: "),
        S::print("Signed in to reports.example"),
        S::ask("Which report should I prepare? (weekly/monthly) "),
        S::tool_call(
            PLANNER,
            EXECUTOR,
            "call_report",
            "fetch_report",
            json!({ "site": "reports.example" }),
        ),
        S::tool_response(EXECUTOR, PLANNER, "call_report", "Report ready: 12 pages"),
        S::text(PLANNER, OPERATOR, "The report is ready. Signing out."),
        S::Pause(step_ms.saturating_mul(10)),
    ]
}

/// Five steps ending with a termination.
fn short_steps() -> Vec<WaldiezStep> {
    use WaldiezStep as S;
    vec![
        S::print("Starting flow: quick lookup"),
        S::text(OPERATOR, PLANNER, "What is the weather in Lisbon?"),
        S::tool_call(
            PLANNER,
            EXECUTOR,
            "call_weather",
            "get_weather",
            json!({ "city": "Lisbon" }),
        ),
        S::tool_response(EXECUTOR, PLANNER, "call_weather", "sunny, 24°C"),
        S::termination("TERMINATE found in the last message"),
    ]
}
