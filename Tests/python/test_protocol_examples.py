"""protocol/ against the real daemon.

Every example session in protocol/examples/*.jsonl is replayed against advlensd over stdio, once
with newline-delimited JSON and once with Content-Length framing, and every reply is checked
against its pattern (conventions: protocol/examples/README.md). Along the way each request's
params and each result are validated with the JSON Schemas in protocol/schema/, both ways:
params of a request that succeeds (or fails for a reason other than its params) must validate,
params the server refuses with -32602 must not (unless the session marks them "schema": "valid",
for semantic errors a schema cannot see), and every result must match its method's result
schema, as must the partial result a cancelled request carries in error.data. Static checks make sure every advertised method has both schemas, a section in protocol/*.md and
an example, and that the .jsonl files are what protocol/examples/generate.py writes.
"""
import importlib.util
import json
import os
import pathlib
import queue
import re
import shutil
import subprocess
import tempfile
import threading

import jsonschema
import pytest
import referencing
import referencing.jsonschema

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROTOCOL = ROOT / "protocol"
SCHEMAS = PROTOCOL / "schema"
EXAMPLES = PROTOCOL / "examples"
READ_TIMEOUT = 120      # seconds to wait for one message (debug builds load data slowly)
EXIT_TIMEOUT = 30       # seconds to wait for the process to end after exit / EOF
FRAMINGS = ["ndjson", "content-length"]


# ---------------------------------------------------------------------------------------------
# Schemas


def _load_registry():
    resources = []
    for path in sorted(SCHEMAS.rglob("*.json")):
        contents = json.loads(path.read_text())
        resources.append((path.as_uri(), referencing.jsonschema.DRAFT202012.create_resource(contents)))
    return referencing.Registry().with_resources(resources)


REGISTRY = _load_registry()


def schema_path(method, kind):
    """protocol/schema/<method>.<kind>.json; a "/" in the method is a directory."""
    return SCHEMAS / f"{method}.{kind}.json"


def validator(uri):
    return jsonschema.Draft202012Validator({"$ref": uri}, registry=REGISTRY,
                                           format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def schema_errors(uri, instance):
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator(uri).iter_errors(instance)]


COMMON = (SCHEMAS / "common.json").as_uri()


# ---------------------------------------------------------------------------------------------
# Patterns


class Mismatch(AssertionError):
    pass


def substitute(value, env):
    """Replaces ${TMP} and ${REPO} in every string of a message or pattern."""
    if isinstance(value, str):
        for key, replacement in env.items():
            value = value.replace("${" + key + "}", replacement)
        return value
    if isinstance(value, list):
        return [substitute(v, env) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, env) for k, v in value.items()}
    return value


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


DIRECTIVE = re.compile(r"^<(any|number|integer|string|boolean|object|array|null|absent)>$|^<(array|contains|regex|let|eq|ne):(.*)>$", re.S)


def match(pattern, value, captures, path="$"):
    """Raises Mismatch naming the path when `value` does not match `pattern` (README conventions)."""
    if isinstance(pattern, str):
        m = DIRECTIVE.match(pattern)
        if m:
            kind, arg = (m.group(1), None) if m.group(1) else (m.group(2), m.group(3))
            ok = {
                "any": lambda: True,
                "number": lambda: _is_number(value),
                "integer": lambda: _is_int(value),
                "string": lambda: isinstance(value, str),
                "boolean": lambda: isinstance(value, bool),
                "object": lambda: isinstance(value, dict),
                "array": lambda: isinstance(value, list) and (arg is None or len(value) == int(arg)),
                "null": lambda: value is None,
                "absent": lambda: False,   # reached only when the member is present
                "contains": lambda: isinstance(value, str) and arg in value,
                "regex": lambda: isinstance(value, str) and re.fullmatch(arg, value) is not None,
                "let": lambda: captures.__setitem__(arg, value) or True,
                "eq": lambda: arg in captures and captures[arg] == value,
                "ne": lambda: arg in captures and captures[arg] != value,
            }[kind]()
            if not ok:
                raise Mismatch(f"{path}: expected {pattern}, got {json.dumps(value)[:300]}")
            return
        if value != pattern:
            raise Mismatch(f"{path}: expected {json.dumps(pattern)[:300]}, got {json.dumps(value)[:300]}")
        return
    if isinstance(pattern, dict):
        if not isinstance(value, dict):
            raise Mismatch(f"{path}: expected an object, got {json.dumps(value)[:300]}")
        for key, sub in pattern.items():
            if sub == "<absent>":
                if key in value:
                    raise Mismatch(f"{path}.{key}: expected absent, got {json.dumps(value[key])[:300]}")
                continue
            if key not in value:
                raise Mismatch(f"{path}.{key}: missing (got {json.dumps(value)[:300]})")
            match(sub, value[key], captures, f"{path}.{key}")
        return
    if isinstance(pattern, list):
        if not isinstance(value, list) or len(value) != len(pattern):
            raise Mismatch(f"{path}: expected an array of {len(pattern)}, got {json.dumps(value)[:300]}")
        for i, (sub, v) in enumerate(zip(pattern, value)):
            match(sub, v, captures, f"{path}[{i}]")
        return
    if isinstance(pattern, bool) or isinstance(value, bool) or pattern is None or value is None:
        if pattern is not value:
            raise Mismatch(f"{path}: expected {json.dumps(pattern)}, got {json.dumps(value)[:300]}")
        return
    if value != pattern:
        raise Mismatch(f"{path}: expected {json.dumps(pattern)}, got {json.dumps(value)[:300]}")


def test_pattern_conventions():
    c = {}
    match({"a": "<integer>", "b": "<absent>", "s": "<contains:ell>"}, {"a": 3, "s": "hello", "extra": 1}, c)
    match(["<any>", "<array:2>", "<regex:[0-9a-f]{4}>"], [None, [1, 2], "beef"], c)
    match({"f": "<let:x>"}, {"f": "v"}, c)
    match("<eq:x>", "v", c)
    match("<ne:x>", "w", c)
    for pattern, value in [({"b": "<absent>"}, {"b": 1}), ([1], [1, 2]), ("<integer>", 1.5), ("<integer>", True),
                           (1, True), ({"a": 1}, {}), ("<eq:x>", "w"), ("<regex:ab>", "abc"), (None, 0)]:
        with pytest.raises(Mismatch):
            match(pattern, value, c)


# ---------------------------------------------------------------------------------------------
# The daemon over a pipe


class Daemon:
    """advlensd over stdin/stdout in one framing; a thread parses replies into a queue."""

    EOF = object()

    def __init__(self, binary, framing, args=(), cwd=ROOT):
        self.framing = framing
        # A fresh cache database per daemon: handle ids in the sessions start at adv-1.
        self.cache_dir = tempfile.mkdtemp(prefix="advlens-example-cache-")
        self.proc = subprocess.Popen([str(binary), "--log-level", "warning", "--cache", os.path.join(self.cache_dir, "cache.sqlite"),
                                      *args], cwd=cwd,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.messages = queue.Queue()
        self.stderr = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()

    def _read(self):
        out = self.proc.stdout
        try:
            while True:
                if self.framing == "ndjson":
                    line = out.readline()
                    if not line:
                        break
                    if not line.strip():
                        continue
                    self.messages.put(json.loads(line))
                else:
                    length = None
                    while True:
                        line = out.readline()
                        if not line:
                            self.messages.put(Daemon.EOF)
                            return
                        if line in (b"\r\n", b"\n"):
                            if length is None:
                                continue
                            break
                        name, _, value = line.decode("ascii").partition(":")
                        assert name.strip().lower() == "content-length", f"unexpected header line {line!r}"
                        length = int(value.strip())
                    body = out.read(length)
                    assert len(body) == length, "stdout ended inside a frame"
                    self.messages.put(json.loads(body))
        except Exception as e:  # noqa: BLE001 - surfaced to the test through the queue
            self.messages.put(e)
        self.messages.put(Daemon.EOF)

    def _drain_stderr(self):
        for line in self.proc.stderr:
            self.stderr.append(line.decode(errors="replace"))

    def send_body(self, body: bytes):
        if self.framing == "ndjson":
            assert b"\n" not in body
            frame = body + b"\n"
        else:
            frame = b"Content-Length: %d\r\n\r\n" % len(body) + body
        self.proc.stdin.write(frame)
        self.proc.stdin.flush()

    def send(self, message):
        self.send_body(json.dumps(message, separators=(",", ":")).encode())

    def receive(self):
        try:
            item = self.messages.get(timeout=READ_TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"no message from advlensd within {READ_TIMEOUT} s; stderr:\n{self.log()}")
        if isinstance(item, Exception):
            raise AssertionError(f"could not read advlensd's output: {item}")
        return item

    def log(self):
        return "".join(self.stderr[-40:])

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=EXIT_TIMEOUT)
        shutil.rmtree(self.cache_dir, ignore_errors=True)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except Exception:  # noqa: BLE001
                pass


# ---------------------------------------------------------------------------------------------
# Replaying a session


def is_notification(message):
    return isinstance(message, dict) and "method" in message and "id" not in message


def id_key(i):
    return json.dumps(i)


class Replay:
    def __init__(self, daemon, name):
        self.daemon = daemon
        self.name = name
        self.captures = {}
        self.buffered = []          # responses received but not yet expected, in arrival order
        self.notifications = []     # notifications read while a reply was awaited, not yet expected
        self.requests = {}          # id -> stack of (method, params, schema flag) awaiting a reply
        self.checked = 0            # schema validations performed
        self.line = 0

    def fail(self, message):
        raise AssertionError(f"{self.name} line {self.line}: {message}\n--- advlensd stderr ---\n{self.daemon.log()}")

    # Sending

    def register(self, message, flag):
        if isinstance(message, list):
            for m in message:
                self.register(m, flag)
        elif isinstance(message, dict) and "id" in message and isinstance(message.get("method"), str):
            # A stack: a duplicate id's immediate refusal is answered before the original.
            self.requests.setdefault(id_key(message["id"]), []).append((message["method"], message.get("params"), flag))

    # Receiving

    def next_message(self):
        message = self.daemon.receive()
        if message is Daemon.EOF:
            return message
        self.on_receive(message)
        return message

    def on_receive(self, message):
        if isinstance(message, list):
            for m in message:
                self.check_response(m)
        elif is_notification(message):
            if message["method"] == "$/progress":
                problems = schema_errors(COMMON + "#/$defs/ProgressParams", message.get("params"))
                if problems:
                    self.fail(f"$/progress params do not match common.json#/$defs/ProgressParams: {problems}")
        else:
            self.check_response(message)

    def check_response(self, response):
        if response.get("jsonrpc") != "2.0":
            self.fail(f"reply without \"jsonrpc\": \"2.0\": {response}")
        if ("result" in response) == ("error" in response):
            self.fail(f"a response needs exactly one of result and error: {response}")
        if "error" in response:
            problems = schema_errors(COMMON + "#/$defs/ResponseError", response["error"])
            if problems:
                self.fail(f"error object does not match ResponseError: {problems}")
        stack = self.requests.get(id_key(response.get("id")))
        if not stack:
            return
        method, params, flag = stack.pop()
        if not schema_path(method, "params").exists():
            return
        params_uri = schema_path(method, "params").as_uri()
        params_value = {} if params is None else params
        problems = schema_errors(params_uri, params_value)
        if "result" in response:
            if problems:
                self.fail(f"{method} succeeded but its params fail {method}.params.json: {problems}")
            result_problems = schema_errors(schema_path(method, "result").as_uri(), response["result"])
            if result_problems:
                self.fail(f"{method} result fails {method}.result.json: {result_problems}\nresult: {json.dumps(response['result'])[:2000]}")
            self.checked += 2
            return
        code = response["error"]["code"]
        if code == -32800 and "data" in response["error"]:
            # A cancelled request's partial result has the shape of its result.
            data_problems = schema_errors(schema_path(method, "result").as_uri(), response["error"]["data"])
            if data_problems:
                self.fail(f"{method} was cancelled with error.data that fails {method}.result.json: {data_problems}\n"
                          f"data: {json.dumps(response['error']['data'])[:2000]}")
            self.checked += 1
        if flag == "skip" or code in (-32600, -32601, -32700):
            return
        if code == -32602 and flag != "valid":
            if not problems:
                self.fail(f"{method} params were refused with -32602 ({response['error']['message']}) "
                          f"but {method}.params.json accepts them")
        elif problems:
            self.fail(f"{method} failed with {code} for a reason other than its params, "
                      f"but {method}.params.json rejects them: {problems}")
        self.checked += 1

    # Expecting

    def take(self, want):
        """The next response satisfying `want`, from the buffer or the stream (notifications skipped)."""
        for i, r in enumerate(self.buffered):
            if want(r):
                return self.buffered.pop(i)
        while True:
            message = self.next_message()
            if message is Daemon.EOF:
                self.fail("advlensd closed its output while a reply was expected")
            if is_notification(message):
                # Keep it for a notification expected later: a reply and a request's progress
                # may arrive in either order (the worker and the reader thread race).
                self.notifications.append(message)
                continue
            if want(message):
                return message
            self.buffered.append(message)

    def expect(self, pattern):
        if isinstance(pattern, dict) and "method" in pattern:
            # A notification: skip non-matching notifications, keep responses for later.
            # Notifications that arrived while a reply was awaited come first, in order.
            while self.notifications:
                message = self.notifications.pop(0)
                try:
                    match(pattern, message, self.captures)
                    return
                except Mismatch:
                    continue
            while True:
                message = self.next_message()
                if message is Daemon.EOF:
                    self.fail(f"advlensd closed its output while waiting for {json.dumps(pattern)[:200]}")
                if not is_notification(message):
                    self.buffered.append(message)
                    continue
                try:
                    match(pattern, message, self.captures)
                    return
                except Mismatch:
                    continue
        if isinstance(pattern, list):
            message = self.take(lambda m: isinstance(m, list))
        else:
            literal_id = "id" in pattern and not (isinstance(pattern["id"], str) and DIRECTIVE.match(pattern["id"]))
            if literal_id:
                message = self.take(lambda m: isinstance(m, dict) and id_key(m.get("id")) == id_key(pattern["id"]))
            else:
                message = self.take(lambda m: isinstance(m, dict))
        try:
            match(pattern, message, self.captures)
        except Mismatch as e:
            self.fail(f"reply does not match: {e}\nreply: {json.dumps(message)[:2000]}")

    def expect_exit(self, code):
        try:
            self.daemon.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            returned = self.daemon.proc.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail(f"advlensd did not exit within {EXIT_TIMEOUT} s")
        while True:
            message = self.next_message()
            if message is Daemon.EOF:
                break
            if not is_notification(message):
                self.buffered.append(message)
        if self.buffered:
            self.fail(f"replies nobody expected: {json.dumps(self.buffered)[:2000]}")
        if returned != code:
            self.fail(f"exit code {returned}, expected {code}")


def load_session(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


SESSION_FILES = sorted(EXAMPLES.glob("*.jsonl"))


@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("session", SESSION_FILES, ids=lambda p: p.stem)
def test_example_session(advlensd, session, framing):
    lines = load_session(session)
    if "data/mnist_5k.csv.gz" in session.read_text():
        assert (ROOT / "data/mnist_5k.csv.gz").is_file(), "data/mnist_5k.csv.gz is missing: run `make data`"
    with tempfile.TemporaryDirectory(prefix="advlens-protocol-") as tmp:
        env = {"TMP": os.path.realpath(tmp), "REPO": os.path.realpath(ROOT)}
        args = [a for line in lines if "args" in line for a in line["args"]]
        daemon = Daemon(advlensd, framing, args)
        replay = Replay(daemon, f"{session.name} ({framing})")
        exited = False
        try:
            for number, line in enumerate(lines, 1):
                replay.line = number
                line = substitute(line, env)
                if "send" in line:
                    replay.register(line["send"], line.get("schema"))
                    daemon.send(line["send"])
                elif "sendRaw" in line:
                    daemon.send_body(line["sendRaw"].encode())
                elif "expect" in line:
                    replay.expect(line["expect"])
                elif "expectExit" in line:
                    replay.expect_exit(line["expectExit"])
                    exited = True
                elif not ({"comment", "args"} & line.keys()):
                    raise AssertionError(f"{session.name} line {number}: unknown directive {sorted(line)}")
        finally:
            daemon.close()
        assert exited, f"{session.name} must end with an expectExit line"
        assert replay.checked > 0 or session.stem.startswith("lifecycle-"), "no schema was checked"


# ---------------------------------------------------------------------------------------------
# Static checks


def _initialize(advlensd):
    proc = subprocess.run([str(advlensd), "--log-level", "warning"], cwd=ROOT, capture_output=True, timeout=60,
                          input=b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}\n'
                                b'{"jsonrpc":"2.0","id":2,"method":"shutdown"}\n{"jsonrpc":"2.0","method":"exit"}\n')
    replies = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert proc.returncode == 0
    return next(r for r in replies if r.get("id") == 1)["result"]


@pytest.fixture
def capabilities(advlensd):
    return _initialize(advlensd)["capabilities"]


def test_every_advertised_method_has_schemas_and_a_readme_section(capabilities):
    readme = "\n".join(page.read_text() for page in sorted(PROTOCOL.glob("*.md")))  # one file per method family
    headings = set(re.findall(r"^#{2,4} `([^`]+)`", readme, re.M))
    missing = []
    for method in capabilities["methods"]:
        for kind in ("params", "result"):
            path = schema_path(method, kind)
            if not path.exists():
                missing.append(str(path.relative_to(ROOT)))
            else:
                jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text()))
        if method not in headings:
            missing.append(f"protocol/*.md section \"## `{method}`\"")
    assert not missing, f"missing for advertised methods: {missing}"
    jsonschema.Draft202012Validator.check_schema(json.loads((SCHEMAS / "common.json").read_text()))
    documented = {p.relative_to(SCHEMAS).as_posix().rsplit(".", 2)[0] for p in SCHEMAS.rglob("*.params.json")}
    assert documented == set(capabilities["methods"]), "schemas for methods the server does not advertise"


def test_schema_enums_match_capabilities(capabilities):
    create = json.loads(schema_path("model/create", "params").read_text())
    assert create["properties"]["architecture"]["enum"] == capabilities["architectures"]
    load = json.loads(schema_path("dataset/load", "params").read_text())
    assert load["properties"]["kind"]["enum"] == capabilities["datasetKinds"]
    common = json.loads((SCHEMAS / "common.json").read_text())
    assert common["$defs"]["DatasetSummary"]["properties"]["kind"]["enum"] == capabilities["datasetKinds"]
    assert common["$defs"]["AttackMethod"]["enum"] == capabilities["attacks"]
    explain = json.loads(schema_path("explainPrediction", "params").read_text())
    assert explain["properties"]["methods"]["items"]["enum"] == capabilities["explainers"]
    forms = [branch["title"] for branch in common["$defs"]["InputSource"]["oneOf"]]
    assert len(forms) == len(capabilities["inputKinds"])


# One value (or two) per attack setting, each valid on its own for some method.
ATTACK_SETTING_SAMPLES = {
    "norm": ["linf", "l2"], "epsilon": [0.1], "stepSize": [0.01], "steps": [5], "restarts": [2], "randomStart": [True],
    "decay": [0.5], "targeted": [True, False], "target": [3], "targetsPerImage": [2], "kappa": [0.1], "c": [1.0],
    "binarySearchSteps": [2], "learningRate": [0.01], "lambda": [0.1], "overshoot": [0.02], "loss": ["ce", "dlr"],
    "targetClasses": [3], "queries": [100], "squareFraction": [0.5], "version": ["standard", "rand"], "seed": [1],
    "earlyStop": [False],
}


def test_evaluate_attacks_take_the_attack_settings_of_every_method(capabilities):
    """evaluate's `attack` and each of its `attacks` are the attack settings (AttackConfig) with
    the rules the attack registry generates, and nothing written by hand beside them: for every
    advertised method and every setting, evaluate's schema accepts exactly what attack's params
    accept, so a new attack method is covered without touching protocol/schema-notes.json."""
    evaluate = json.loads(schema_path("evaluate", "params").read_text())["properties"]
    config = {"$ref": "common.json#/$defs/AttackConfig"}
    assert config in evaluate["attack"]["anyOf"] and not evaluate["attack"].keys() - {"anyOf", "description"}
    assert evaluate["attacks"]["items"] == config
    common = json.loads((SCHEMAS / "common.json").read_text())["$defs"]["AttackConfig"]
    assert set(common["properties"]) - {"method"} == set(ATTACK_SETTING_SAMPLES), "a new setting needs a sample here"
    ruled = {r["if"]["properties"]["method"].get("const") for r in common["allOf"] if "method" in r["if"].get("properties", {})}
    assert set(capabilities["attacks"]) <= ruled, f"methods without a rule: {set(capabilities['attacks']) - ruled}"

    attack, evaluate_uri = schema_path("attack", "params").as_uri(), schema_path("evaluate", "params").as_uri()
    mismatches, refused = [], 0
    for method in capabilities["attacks"]:
        for field, values in ATTACK_SETTING_SAMPLES.items():
            for value in values:
                settings = {"method": method, field: value}
                alone = validator(attack).is_valid({"model": "m", "inputs": {"dataset": "d", "indices": [0]}, **settings})
                refused += not alone
                one = validator(evaluate_uri).is_valid({"model": "m", "dataset": "d", "attack": settings})
                listed = validator(evaluate_uri).is_valid({"model": "m", "dataset": "d", "attacks": [{"method": "fgsm"}, settings]})
                if not alone == one == listed:
                    mismatches.append((settings, alone, one, listed))
    assert not mismatches, f"evaluate's schema and attack's disagree (settings, attack, attack in evaluate, attacks): {mismatches}"
    assert refused > len(capabilities["attacks"]), "every method refuses some setting"


def test_every_advertised_method_has_a_successful_example(capabilities):
    succeeded = set()
    for path in SESSION_FILES:
        lines = load_session(path)
        sent = {}
        for line in lines:
            messages = line.get("send")
            for m in messages if isinstance(messages, list) else [messages] if messages else []:
                if isinstance(m, dict) and "id" in m and "method" in m:
                    sent[id_key(m["id"])] = m["method"]
            expected = line.get("expect")
            for e in expected if isinstance(expected, list) else [expected] if expected else []:
                if isinstance(e, dict) and "result" in e and id_key(e.get("id")) in sent:
                    succeeded.add(sent[id_key(e["id"])])
    assert set(capabilities["methods"]) <= succeeded, f"no successful example for {set(capabilities['methods']) - succeeded}"


def test_examples_are_what_the_generator_writes():
    spec = importlib.util.spec_from_file_location("protocol_examples_generate", EXAMPLES / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rendered = module.render()
    on_disk = {p.name: p.read_text() for p in SESSION_FILES}
    assert rendered == on_disk, "protocol/examples/*.jsonl differ from generate.py's output: run `python3 protocol/examples/generate.py`"
