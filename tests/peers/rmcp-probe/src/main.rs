//! `rmcp-probe URL MODE [TOOL [ARGUMENTS_JSON]]`: connect to URL with rmcp's
//! client in MODE (`initialize`, `discover` or `auto`), print the negotiated
//! version and the tools, and call TOOL when given. One JSON line per step on
//! stdout, so that tests assert on what the SDK really saw; exit status 1 on
//! any failure, with the SDK's error on stderr.

use rmcp::model::{CallToolRequestParams, ClientConfig, ProtocolVersion};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientLifecycleMode, ClientServiceExt};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rmcp-probe: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(url), Some(mode)) = (args.first(), args.get(1)) else {
        return Err(
            "usage: rmcp-probe URL initialize|discover|auto [TOOL [ARGUMENTS_JSON]]".into(),
        );
    };
    let lifecycle = match mode.as_str() {
        "initialize" => ClientLifecycleMode::Initialize,
        "discover" => ClientLifecycleMode::Discover {
            preferred_versions: vec![ProtocolVersion::V_2026_07_28],
        },
        "auto" => ClientLifecycleMode::Auto {
            preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            legacy_version: Some(ProtocolVersion::V_2025_11_25),
        },
        other => return Err(format!("unknown mode {other}").into()),
    };
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(url.clone()),
    );
    let client = ClientConfig::default()
        .serve_with_lifecycle(transport, lifecycle)
        .await?;
    let peer = serde_json::to_value(client.peer_info())?;
    println!("{}", json!({"step": "connected", "peer": peer}));
    let tools = client.list_all_tools().await?;
    let names: Vec<_> = tools.iter().map(|t| t.name.to_string()).collect();
    println!("{}", json!({"step": "tools", "names": names}));
    if let Some(tool) = args.get(2) {
        let arguments = match args.get(3) {
            Some(text) => match serde_json::from_str::<Value>(text)? {
                Value::Object(map) => map,
                _ => return Err("ARGUMENTS_JSON must be an object".into()),
            },
            None => Default::default(),
        };
        let result = client
            .call_tool(CallToolRequestParams::new(tool.clone()).with_arguments(arguments))
            .await?;
        println!(
            "{}",
            json!({"step": "call", "result": serde_json::to_value(result)?})
        );
    }
    client.cancel().await?;
    Ok(())
}
