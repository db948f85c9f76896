//! The shell completions `esia-glpi generate` writes, run by the real shells,
//! non-interactively, on what an administrator types:
//!
//! - bash: the script is sourced and its function (the one `complete -p
//!   esia-glpi` names) called with `COMP_WORDS` / `COMP_CWORD` set, as
//!   readline would; the candidates are `COMPREPLY`;
//! - zsh: an interactive zsh in a pseudo-terminal (`zsh/zpty`) loads the
//!   script through `compinit`, with `compadd` wrapped to write every match
//!   it is given to a file, and receives the line followed by a Tab;
//! - fish: `complete -C LINE` after sourcing the script.
//!
//! zsh and fish are Debian packages that `tests/run.sh` installs; a missing
//! shell is a failure naming the fix, never a skip.

use std::process::Command;

use crate::operations::{generate, has_tool, missing};

/// Calls the bash completion function on the words given (the last one is
/// the word being completed) and prints `COMPREPLY`, one per line.
const BASH_DRIVER: &str = r#"
set -u
source "$1"
shift
fn=$(complete -p esia-glpi | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
[ -n "$fn" ] || { echo "no completion function for esia-glpi" >&2; exit 3; }
COMP_WORDS=("$@")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
prev=""
[ "$COMP_CWORD" -gt 0 ] && prev="${COMP_WORDS[COMP_CWORD-1]}"
COMPREPLY=()
"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "$prev"
printf '%s\n' "${COMPREPLY[@]}"
"#;

/// `zsh -f DRIVER DIR OUT LINE`: completes LINE in an interactive zsh whose
/// `fpath` starts with DIR (where `_esia-glpi` is); every match goes to OUT,
/// then `--end--` once the completion is over. Exits 4 if it never ends.
const ZSH_DRIVER: &str = r#"
zmodload zsh/zpty || { print -u2 "no zsh/zpty module"; exit 3 }
dir=$1 out=$2 line=$3
zpty comp zsh -f -i
zpty -w comp "PROMPT=''; fpath=(${(q)dir} \$fpath); autoload -Uz compinit; compinit -u -D"
# Queries (-O, -A, -D: "which of these match?") go to the real compadd;
# every other call adds matches: record them instead.
zpty -w comp 'compadd() { if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi; local -a __m; builtin compadd -O __m "$@"; (( $#__m )) && print -rl -- $__m >> '"${(q)out}"'; return 0; }'
zpty -w comp '_capture_done() { print -r -- "--end--" >> '"${(q)out}"'; exit; }; comppostfuncs=(_capture_done)'
zpty -w -n comp "$line"$'\t'
for i in {1..200}; do
  if [[ -f $out ]] && grep -qx -- --end-- $out; then
    zpty -d comp
    exit 0
  fi
  zpty -rt comp chunk 2>/dev/null
  sleep 0.05
done
zpty -d comp
print -u2 "zsh completed nothing within 10 s"
exit 4
"#;

struct Shells {
    dir: tempfile::TempDir,
}

impl Shells {
    fn new() -> Shells {
        for (shell, package) in [("bash", "bash"), ("zsh", "zsh"), ("fish", "fish")] {
            if !has_tool(shell) {
                missing(shell, &format!("apt-get install {package}"));
            }
        }
        Shells { dir: generate() }
    }

    fn completions(&self) -> std::path::PathBuf {
        self.dir.path().join("completions")
    }

    /// A shell run with a clean environment and a scratch home.
    fn shell(&self, program: &str) -> Command {
        let home = self.dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("HOME", &home)
            .env("TERM", "xterm")
            .env("LC_ALL", "C.UTF-8")
            .current_dir(self.dir.path());
        cmd
    }

    /// What bash offers for `line` (a trailing space: a new, empty word).
    fn bash(&self, line: &str) -> Vec<String> {
        let mut words: Vec<&str> = line.split(' ').collect();
        if words.is_empty() {
            words.push("");
        }
        let out = self
            .shell("bash")
            .args(["--norc", "--noprofile", "-c", BASH_DRIVER, "bash"])
            .arg(self.completions().join("esia-glpi.bash"))
            .args(&words)
            .output()
            .unwrap();
        candidates("bash", line, &out)
    }

    fn zsh(&self, line: &str) -> Vec<String> {
        let driver = self.dir.path().join("capture.zsh");
        std::fs::write(&driver, ZSH_DRIVER).unwrap();
        let found = self.dir.path().join("zsh-matches");
        let _ = std::fs::remove_file(&found);
        let out = self
            .shell("zsh")
            .arg("-f")
            .arg(&driver)
            .arg(self.completions())
            .arg(&found)
            .arg(line)
            .output()
            .unwrap();
        assert!(out.status.success(), "zsh on {line:?}: {out:?}");
        let text = std::fs::read_to_string(&found).unwrap_or_default();
        let mut words: Vec<String> = text.lines().map(str::to_owned).collect();
        assert_eq!(words.pop().as_deref(), Some("--end--"), "{text}");
        words
    }

    fn fish(&self, line: &str) -> Vec<String> {
        let script = self.completions().join("esia-glpi.fish");
        let out = self
            .shell("fish")
            .args(["--no-config", "-c"])
            .arg(format!(
                "source {}; complete -C {}",
                fish_quote(&script.to_string_lossy()),
                fish_quote(line)
            ))
            .output()
            .unwrap();
        // "candidate<TAB>description"
        candidates("fish", line, &out)
            .into_iter()
            .map(|l| l.split('\t').next().unwrap_or_default().to_owned())
            .collect()
    }

    fn complete(&self, shell: &str, line: &str) -> Vec<String> {
        match shell {
            "bash" => self.bash(line),
            "zsh" => self.zsh(line),
            "fish" => self.fish(line),
            other => unreachable!("{other}"),
        }
    }
}

fn candidates(shell: &str, line: &str, out: &std::process::Output) -> Vec<String> {
    assert!(out.status.success(), "{shell} on {line:?}: {out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.trim().is_empty(), "{shell} on {line:?}: {stderr}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn fish_quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

#[track_caller]
fn assert_offers(shell: &str, line: &str, got: &[String], wanted: &[&str], never: &[&str]) {
    for w in wanted {
        assert!(
            got.iter().any(|g| g == w),
            "{shell}: `{line}<TAB>` does not offer {w}; it offers {got:?}"
        );
    }
    for n in never {
        assert!(
            !got.iter().any(|g| g == n),
            "{shell}: `{line}<TAB>` offers {n}: {got:?}"
        );
    }
}

fn check_shell(shell: &str) {
    let shells = Shells::new();
    let line = "esia-glpi notify --";
    let got = shells.complete(shell, line);
    assert_offers(
        shell,
        line,
        &got,
        &[
            "--node",
            "--type",
            "--event-id",
            "--last-problem-id",
            "--mail",
            "--priority",
            "--config",
        ],
        &["--send-mail"],
    );
    let line = "esia-glpi state ";
    let got = shells.complete(shell, line);
    assert_offers(
        shell,
        line,
        &got,
        &["list", "show", "forget", "rebuild", "migrate", "import"],
        &["generate"],
    );
    let line = "esia-glpi ";
    let got = shells.complete(shell, line);
    assert_offers(
        shell,
        line,
        &got,
        &["notify", "check", "flush", "state", "render"],
        &["generate"],
    );
    let line = "esia-glpi notify --log ";
    let got = shells.complete(shell, line);
    assert_offers(shell, line, &got, &["journald", "syslog"], &["generate"]);
}

#[test]
fn bash_completes_commands_and_their_options() {
    check_shell("bash");
}

#[test]
fn zsh_completes_commands_and_their_options() {
    check_shell("zsh");
}

#[test]
fn fish_completes_commands_and_their_options() {
    check_shell("fish");
}

/// The bash script as `clap_complete` writes it would fail the test above
/// (clap #6421): the test can tell a broken script from a working one.
#[test]
fn a_broken_bash_script_is_caught() {
    let shells = Shells::new();
    let path = shells.completions().join("esia-glpi.bash");
    let fixed = std::fs::read_to_string(&path).unwrap();
    assert!(fixed.contains("esia__glpi__subcmd__notify)"), "{fixed}");
    // The `case` arms (8 spaces in) as clap_complete spells them; the
    // loop's patterns (12 spaces in) and states unchanged.
    let broken = fixed.replace(
        "\n        esia__glpi__subcmd__",
        "\n        esia__subcmd__glpi__subcmd__",
    );
    assert_ne!(broken, fixed);
    std::fs::write(&path, broken).unwrap();
    let got = shells.bash("esia-glpi notify --");
    assert!(!got.iter().any(|g| g == "--node"), "{got:?}");
}
