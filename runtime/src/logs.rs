//! Where the functions' output goes: every line a process writes is tagged with its
//! function's name, as Lambda files it under the function's log group.

use std::{fmt, io::Write, sync::Arc};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// Which stream of the process a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStream {
    /// The process's standard output.
    Stdout,
    /// The process's standard error.
    Stderr,
    /// The runtime itself, about the function: timeouts, exits and init failures,
    /// which Lambda also writes to the function's log stream.
    Runtime,
}

/// One line of a function's output, without its line break.
#[derive(Debug, Clone, Copy)]
pub struct LogLine<'a> {
    /// The function that wrote it.
    pub function: &'a str,
    /// The stream it was written to.
    pub stream: LogStream,
    /// The text; invalid UTF-8 is replaced with U+FFFD.
    pub line: &'a str,
}

type Callback = Arc<dyn Fn(LogLine<'_>) + Send + Sync>;

/// Where the functions' output goes.
///
/// The default writes both streams of every function to this process's standard
/// error as `Name | line`, names padded to a column, so standard output stays free
/// for what the caller prints (an invoke's response, the API URLs).
#[derive(Clone, Default)]
pub enum LogSink {
    /// Write to this process's standard error, prefixed with the function's name.
    #[default]
    Stderr,
    /// Drop the output (benchmarks).
    Discard,
    /// Hand each line to a callback (tests, or a caller with its own log format).
    /// It runs on the runtime's tasks, so it must be quick.
    Custom(Callback),
}

impl LogSink {
    /// A sink that calls `f` for each line.
    pub fn custom(f: impl Fn(LogLine<'_>) + Send + Sync + 'static) -> Self {
        Self::Custom(Arc::new(f))
    }

    pub(crate) fn emit(&self, width: usize, line: LogLine<'_>) {
        match self {
            Self::Stderr => {
                // A closed stderr must not take a function down with it; drop the line.
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "{:<width$} | {}",
                    line.function,
                    line.line
                );
            }
            Self::Discard => {}
            Self::Custom(f) => f(line),
        }
    }
}

impl fmt::Debug for LogSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stderr => f.write_str("Stderr"),
            Self::Discard => f.write_str("Discard"),
            Self::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// Forwards one output stream of a process to the sink until it closes.
pub(crate) async fn pump(
    reader: impl AsyncRead + Unpin,
    sink: LogSink,
    function: Arc<str>,
    width: usize,
    stream: LogStream,
) {
    let mut reader = BufReader::new(reader);
    let mut buf = Vec::with_capacity(256);
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let text = String::from_utf8_lossy(&buf);
                let line = text.trim_end_matches(['\n', '\r']);
                sink.emit(
                    width,
                    LogLine {
                        function: &function,
                        stream,
                        line,
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[tokio::test]
    async fn every_line_is_tagged_with_its_function_even_without_a_final_newline() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let seen = lines.clone();
        let sink = LogSink::custom(move |l| {
            seen.lock()
                .unwrap()
                .push(format!("{}:{:?}:{}", l.function, l.stream, l.line))
        });
        let input: &[u8] = b"one\r\ntwo\n\xffthree";
        pump(input, sink, "Fn".into(), 2, LogStream::Stderr).await;
        assert_eq!(
            *lines.lock().unwrap(),
            ["Fn:Stderr:one", "Fn:Stderr:two", "Fn:Stderr:\u{fffd}three"]
        );
    }
}
