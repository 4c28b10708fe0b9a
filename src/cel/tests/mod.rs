//! Examples from the CEL language definition and the Kubernetes CEL
//! documentation, with the results and error messages they document.

use serde_json::{Value as Json, json};

use super::{Value, compile};

mod libraries;
mod robustness;

/// Compiles `expr` with the top-level keys of `bindings` as variables and
/// evaluates it; the result as JSON, or the error message.
fn run(expr: &str, bindings: Json) -> Result<Json, String> {
    let obj = bindings
        .as_object()
        .expect("bindings are an object")
        .clone();
    let names: Vec<&str> = obj.keys().map(String::as_str).collect();
    let prg = compile(expr, &names)?;
    let vars: Vec<(&str, &Json)> = obj.iter().map(|(k, v)| (k.as_str(), v)).collect();
    prg.eval(&vars).map(|v| v.to_json()).map_err(|e| e.message)
}

/// Evaluates an expression without variables.
fn val(expr: &str) -> Result<Json, String> {
    run(expr, json!({}))
}

fn is_true(expr: &str, bindings: Json) {
    assert_eq!(
        run(expr, bindings.clone()),
        Ok(json!(true)),
        "{expr} over {bindings}"
    );
}

fn is_false(expr: &str, bindings: Json) {
    assert_eq!(
        run(expr, bindings.clone()),
        Ok(json!(false)),
        "{expr} over {bindings}"
    );
}

fn fails(expr: &str, bindings: Json, message: &str) {
    assert_eq!(
        run(expr, bindings.clone()),
        Err(message.to_string()),
        "{expr} over {bindings}"
    );
}

fn all_true(exprs: &[&str]) {
    for e in exprs {
        is_true(e, json!({}));
    }
}

#[test]
fn literals() {
    assert_eq!(val("42"), Ok(json!(42)));
    assert_eq!(val("0x2A"), Ok(json!(42)));
    assert_eq!(val("42u"), Ok(json!(42)));
    assert_eq!(val("-9223372036854775808"), Ok(json!(i64::MIN)));
    assert_eq!(val("18446744073709551615u"), Ok(json!(u64::MAX)));
    assert_eq!(val("1.5e3"), Ok(json!(1500.0)));
    assert_eq!(val(".5"), Ok(json!(0.5)));
    assert_eq!(val("null"), Ok(Json::Null));
    assert_eq!(
        val(r#""a\tb\n\u00e9\x41\101\"""#),
        Ok(json!("a\tb\né\u{41}A\""))
    );
    assert_eq!(val(r#"r"a\tb""#), Ok(json!("a\\tb")));
    assert_eq!(val("'''multi\nline'''"), Ok(json!("multi\nline")));
    assert_eq!(
        val(r#""""with "quotes" inside""""#),
        Ok(json!("with \"quotes\" inside"))
    );
    all_true(&[
        "b'abc' == bytes('abc')",
        r"b'\xff'.size() == 1",
        r"b'\377' == b'\xff'",
        "size('\u{e9}t\u{e9}') == 3",
        "size(b'\u{e9}') == 2",
        "[1, 2, 3,].size() == 3",
        "{'a': 1, 'b': 2,}.size() == 2",
        "{}.size() == 0",
        "[] == []",
    ]);
}

#[test]
fn precedence_and_operators() {
    assert_eq!(val("1 + 2 * 3"), Ok(json!(7)));
    assert_eq!(val("(1 + 2) * 3"), Ok(json!(9)));
    assert_eq!(val("10 - 4 - 3"), Ok(json!(3)));
    assert_eq!(val("-7 / 2"), Ok(json!(-3)));
    assert_eq!(val("-7 % 3"), Ok(json!(-1)));
    assert_eq!(val("--5"), Ok(json!(5)));
    assert_eq!(val("!!true"), Ok(json!(true)));
    assert_eq!(val("true ? 1 : 2"), Ok(json!(1)));
    assert_eq!(val("false ? 1 : true ? 2 : 3"), Ok(json!(2)));
    assert_eq!(val("1 < 2 == true"), Ok(json!(true)));
    assert_eq!(val("true || false && false"), Ok(json!(true)));
    assert_eq!(val("3.0 / 2.0"), Ok(json!(1.5)));
    assert_eq!(val("'ab' + 'cd'"), Ok(json!("abcd")));
    assert_eq!(val("[1] + [2, 3]"), Ok(json!([1, 2, 3])));
    assert_eq!(val("5u - 2u"), Ok(json!(3)));
    assert_eq!(val("// comment\n1 + // more\n 1"), Ok(json!(2)));
}

#[test]
fn numeric_types_do_not_mix_in_arithmetic_but_compare() {
    fails("1 + 1u", json!({}), "no such overload: _+_(int, uint)");
    fails("1 + 1.0", json!({}), "no such overload: _+_(int, double)");
    fails("-(1u)", json!({}), "no such overload: -_(uint)");
    all_true(&[
        "1 == 1.0",
        "1u == 1",
        "1 < 1.5",
        "2u > 1",
        "-1 < 0u",
        "1.5 > 1u",
        "9223372036854775807 < 9223372036854775808u",
        "[1, 2] == [1.0, dyn(2u)]",
        "{1: 'a'}[1u] == 'a'",
        "1 in [1.0]",
    ]);
    is_false("0.0/0.0 == 0.0/0.0", json!({}));
    is_false("1 == 'a'", json!({}));
    is_true("1 != 'a'", json!({}));
    is_false("null == false", json!({}));
    fails("1 < 'a'", json!({}), "no such overload: _<_(int, string)");
}

#[test]
fn integer_overflow_and_division_errors() {
    fails("9223372036854775807 + 1", json!({}), "integer overflow");
    fails("-9223372036854775808 - 1", json!({}), "integer overflow");
    fails("9223372036854775807 * 2", json!({}), "integer overflow");
    fails("-(-9223372036854775808)", json!({}), "integer overflow");
    fails("-9223372036854775808 / -1", json!({}), "integer overflow");
    fails("0u - 1u", json!({}), "unsigned integer overflow");
    fails("1 / 0", json!({}), "division by zero");
    fails("1 % 0", json!({}), "modulus by zero");
    fails("1u / 0u", json!({}), "division by zero");
    assert_eq!(
        val("1.0 / 0.0"),
        Ok(Json::Null),
        "infinity has no JSON form"
    );
    is_true("1.0 / 0.0 > 1e308", json!({}));
    fails("int(1e20)", json!({}), "integer overflow");
    fails("uint(-1)", json!({}), "unsigned integer overflow");
    fails("int(18446744073709551615u)", json!({}), "integer overflow");
}

#[test]
fn logical_operators_absorb_errors() {
    is_false("false && (1/0 > 0)", json!({}));
    is_false("(1/0 > 0) && false", json!({}));
    is_true("true || (1/0 > 0)", json!({}));
    is_true("(1/0 > 0) || true", json!({}));
    fails("true && (1/0 > 0)", json!({}), "division by zero");
    fails("(1/0 > 0) || false", json!({}), "division by zero");
    is_false("self.missing == 1 && false", json!({"self": {}}));
    fails("1 && true", json!({}), "no such overload: _&&_(int, bool)");
    fails("'a' ? 1 : 2", json!({}), "no such overload: _?_:_(string)");
    fails("!1", json!({}), "no such overload: !_(int)");
    // The branch not taken is never evaluated.
    assert_eq!(val("true ? 1 : 1/0"), Ok(json!(1)));
}

#[test]
fn membership() {
    all_true(&[
        "2 in [1, 2, 3]",
        "'a' in {'a': 1}",
        "!('b' in {'a': 1})",
        "!(4 in [1, 2, 3])",
        "'x' in ['x'] && !('y' in [])",
    ]);
    fails(
        "1 in 'abc'",
        json!({}),
        "no such overload: @in(int, string)",
    );
}

#[test]
fn json_objects_are_maps() {
    let obj = json!({"self": {"minReplicas": 1, "replicas": 3, "maxReplicas": 5, "ratio": 0.5, "name": "web",
        "labels": {"app": "web"}, "items": [{"name": "a1"}, {"name": "a2"}]}});
    is_true(
        "self.minReplicas <= self.replicas && self.replicas <= self.maxReplicas",
        obj.clone(),
    );
    is_true(
        "self.ratio == 0.5 && type(self.ratio) == double",
        obj.clone(),
    );
    is_true("type(self.replicas) == int", obj.clone());
    is_true("self.labels['app'] == 'web'", obj.clone());
    is_true("self['name'] == 'web'", obj.clone());
    is_true("self.items[1].name == 'a2'", obj.clone());
    fails("self.nope", obj.clone(), "no such key: nope");
    fails("self['nope']", obj.clone(), "no such key: nope");
    fails(
        "self.items[2]",
        obj.clone(),
        "index '2' out of range in list size '2'",
    );
    fails(
        "self.items[-1]",
        obj.clone(),
        "index '-1' out of range in list size '2'",
    );
    fails(
        "self.name.first",
        obj.clone(),
        "type 'string' does not support field selection",
    );
    is_true("has(self.labels) && !has(self.spec)", obj.clone());
    is_true("has(self.labels.app)", obj.clone());
    assert_eq!(
        run(
            "{'a': [1, dyn(2.5), dyn('x'), dyn(true), null, {'b': []}]}",
            json!({})
        ),
        Ok(json!({"a": [1, 2.5, "x", true, null, {"b": []}]}))
    );
    fails("{'a': 1, 'a': 2}", json!({}), "Failed with repeated key: a");
}

#[test]
fn kubernetes_documentation_rules() {
    // Validation rules from the Kubernetes "Validation rules" documentation.
    is_true(
        "self.minReplicas <= self.replicas",
        json!({"self": {"minReplicas": 1, "replicas": 2}}),
    );
    is_false(
        "self.minReplicas <= self.replicas",
        json!({"self": {"minReplicas": 3, "replicas": 2}}),
    );
    is_true(
        "'Available' in self.stateCounts",
        json!({"self": {"stateCounts": {"Available": 1}}}),
    );
    is_true(
        "(size(self.list1) == 0) != (size(self.list2) == 0)",
        json!({"self": {"list1": [], "list2": [1]}}),
    );
    is_true(
        "!('MY_KEY' in self.map1) || self['MY_KEY'].matches('^[a-zA-Z]*$')",
        json!({"self": {"map1": {"MY_KEY": 1}, "MY_KEY": "abc"}}),
    );
    is_true(
        "self.envars.filter(e, e.name == 'MY_ENV').all(e, e.value.matches('^[a-zA-Z]*$'))",
        json!({"self": {"envars": [{"name": "MY_ENV", "value": "abc"}, {"name": "X", "value": "1"}]}}),
    );
    is_true(
        "has(self.expired) && self.created + self.ttl < self.expired",
        json!({"self": {"expired": 10, "created": 1, "ttl": 5}}),
    );
    is_true(
        "self.health.startsWith('ok')",
        json!({"self": {"health": "okay"}}),
    );
    is_true(
        "self.widgets.exists(w, w.key == 'x' && w.foo < 10)",
        json!({"self": {"widgets": [{"key": "x", "foo": 3}]}}),
    );
    is_true(
        "type(self) == string ? self == '99%' : self == 42",
        json!({"self": "99%"}),
    );
    is_true(
        "type(self) == string ? self == '99%' : self == 42",
        json!({"self": 42}),
    );
    is_true(
        "self.metadata.name.startsWith(self.prefix)",
        json!({"self": {"metadata": {"name": "abc-1"}, "prefix": "abc"}}),
    );
    is_true(
        "self.set1.all(e, !(e in self.set2))",
        json!({"self": {"set1": [1, 2], "set2": [3]}}),
    );
    is_true(
        "size(self.names) == size(self.details) && self.names.all(n, n in self.details)",
        json!({"self": {"names": ["a"], "details": {"a": {}}}}),
    );
    is_true(
        "size(self.clusters.filter(c, c.name == self.primary)) == 1",
        json!({"self": {"clusters": [{"name": "a"}, {"name": "b"}], "primary": "b"}}),
    );
    is_true(
        "self.all(x, x.name.startsWith('a'))",
        json!({"self": [{"name": "ab"}, {"name": "ac"}]}),
    );
    is_true(
        "self.map(k, self[k]).all(v, v > 0)",
        json!({"self": {"a": 1, "b": 2}}),
    );
    is_false(
        "self.map(k, self[k]).all(v, v > 0)",
        json!({"self": {"a": 1, "b": 0}}),
    );
    // Transition rules compare against the previous object.
    is_true(
        "self == oldSelf",
        json!({"self": {"a": [1]}, "oldSelf": {"a": [1]}}),
    );
    is_false(
        "self == oldSelf",
        json!({"self": {"a": [1]}, "oldSelf": {"a": [2]}}),
    );
    is_true(
        "self.replicas >= oldSelf.replicas",
        json!({"self": {"replicas": 3}, "oldSelf": {"replicas": 2}}),
    );
    is_true("has(self.x) ? self.x > 0 : true", json!({"self": {}}));
    is_true("has(self.x) ? self.x > 0 : true", json!({"self": {"x": 2}}));
}

#[test]
fn admission_policy_expressions() {
    let vars = json!({
        "object": {"metadata": {"name": "web", "labels": {"env": "prod"}}, "spec": {"replicas": 7,
            "template": {"spec": {"containers": [{"name": "c", "image": "registry.example/app:1"}]}}}},
        "oldObject": null,
        "request": {"operation": "CREATE", "userInfo": {"username": "alice", "groups": ["dev"]}},
        "params": {"maxReplicas": 5},
    });
    is_false("object.spec.replicas <= params.maxReplicas", vars.clone());
    is_true(
        "request.operation == 'CREATE' && oldObject == null",
        vars.clone(),
    );
    is_true(
        "object.spec.template.spec.containers.all(c, c.image.startsWith('registry.example/'))",
        vars.clone(),
    );
    is_true(
        "'env' in object.metadata.labels && object.metadata.labels.env in ['prod', 'staging']",
        vars.clone(),
    );
    is_true(
        "request.userInfo.groups.exists(g, g == 'dev')",
        vars.clone(),
    );
    is_true("!(request.userInfo.username in ['admin'])", vars.clone());
    is_true(
        "object.?metadata.?labels.?env.orValue('none') == 'prod'",
        vars.clone(),
    );
    is_true(
        "object.metadata.?annotations.?foo.orValue('none') == 'none'",
        vars.clone(),
    );
    is_true("!object.metadata.?annotations.hasValue()", vars.clone());
    is_true(
        "object.metadata.labels[?'env'].value() == 'prod'",
        vars.clone(),
    );
    is_true(
        "optional.none().orValue(1) == 1 && optional.of(2).value() == 2",
        vars.clone(),
    );
    fails(
        "optional.none().value()",
        json!({}),
        "optional.none() dereference",
    );
}

#[test]
fn unbound_variables_fail_only_when_read() {
    let prg = compile("has(oldSelf.x) && self.x > 0", &["self", "oldSelf"]).unwrap();
    let obj = json!({"x": 1});
    assert!(prg.uses("oldSelf") && prg.uses("self"));
    assert!(
        !compile("self.x > 0", &["self", "oldSelf"])
            .unwrap()
            .uses("oldSelf")
    );
    assert_eq!(
        prg.eval(&[("self", &obj)]).unwrap_err().message,
        "no such attribute(s): oldSelf"
    );
    let short = compile("self.x > 0 || oldSelf.x > 0", &["self", "oldSelf"]).unwrap();
    assert!(short.eval_bool(&[("self", &obj)]).unwrap());
    assert_eq!(short.source(), "self.x > 0 || oldSelf.x > 0");
    let not_bool = compile("self.x", &["self"]).unwrap();
    assert_eq!(
        not_bool.eval_bool(&[("self", &obj)]).unwrap_err().message,
        "expected bool, got int"
    );
}

#[test]
fn compile_errors_are_reported_like_cel_go() {
    assert_eq!(
        compile("foo == 1", &["self"]).unwrap_err(),
        "ERROR: <input>:1:1: undeclared reference to 'foo' (in container '')"
    );
    assert_eq!(
        compile("self.a + nope", &["self"]).unwrap_err(),
        "ERROR: <input>:1:10: undeclared reference to 'nope' (in container '')"
    );
    assert_eq!(
        compile("self.x ==", &["self"]).unwrap_err(),
        "ERROR: <input>:1:10: Syntax error: mismatched input '<EOF>' expecting {'[', '{', '(', '.', '-', '!', 'true', 'false', 'null', NUM_FLOAT, NUM_INT, NUM_UINT, STRING, BYTES, IDENTIFIER}"
    );
    assert_eq!(
        compile("1 2", &[]).unwrap_err(),
        "ERROR: <input>:1:3: Syntax error: extraneous input '2' expecting <EOF>"
    );
    assert_eq!(
        compile("self.x #", &["self"]).unwrap_err(),
        "ERROR: <input>:1:8: Syntax error: token recognition error at: '#'"
    );
    assert_eq!(
        compile("true &&\n  bogus(1)", &[]).unwrap_err(),
        "ERROR: <input>:2:3: undeclared reference to 'bogus' (in container '')"
    );
    assert!(
        compile("has(self)", &["self"])
            .unwrap_err()
            .contains("invalid argument to has() macro")
    );
    assert!(
        compile("self.all(x.y, true)", &["self"])
            .unwrap_err()
            .contains("argument must be a simple name")
    );
    assert!(
        compile("9223372036854775808", &[])
            .unwrap_err()
            .contains("invalid int literal")
    );
    assert!(
        compile("self.if", &["self"])
            .unwrap_err()
            .contains("reserved identifier: if")
    );
    assert!(
        compile("'unterminated", &[])
            .unwrap_err()
            .contains("Syntax error")
    );
    // Comprehension variables are scoped to the macro body.
    assert!(
        compile("[1].all(x, x > 0) && x > 0", &[])
            .unwrap_err()
            .contains("undeclared reference to 'x'")
    );
    let deep = format!("{}1{}", "(".repeat(300), ")".repeat(300));
    assert!(
        compile(&deep, &[])
            .unwrap_err()
            .contains("expression recursion limit exceeded")
    );
    let long_chain = vec!["1"; 300].join(" + ");
    assert!(
        compile(&long_chain, &[])
            .unwrap_err()
            .contains("expression recursion limit exceeded")
    );
}

#[test]
fn deepest_accepted_expressions_fit_a_small_stack() {
    // Request handlers run on threads with 2 MiB stacks; the nesting limit
    // must keep parsing and evaluation of the deepest accepted input inside it.
    let deepest = [
        format!("{}1{}", "(".repeat(49), ")".repeat(49)),
        vec!["1"; 95].join(" + "),
        format!("{}true", "!".repeat(98)),
        format!("{}[1]{}", "[".repeat(45), "]".repeat(45)),
        format!("{}1{}", "[1].map(x, ".repeat(24), ")".repeat(24)),
    ];
    for expr in deepest {
        let h = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                compile(&expr, &[]).map(|p| p.eval(&[]).map(|_| ()).map_err(|e| e.message))
            })
            .unwrap();
        let res = h.join().expect("no stack overflow");
        assert!(matches!(res, Ok(Ok(()))), "{res:?}");
    }
}

#[test]
fn macros() {
    all_true(&[
        "[1, 2, 3].all(x, x > 0)",
        "![1, 2, 3].all(x, x > 1)",
        "[1, 2, 3].exists(x, x == 2)",
        "![1, 2, 3].exists(x, x == 4)",
        "[1, 2, 3].exists_one(x, x > 2)",
        "![1, 2, 3].exists_one(x, x > 1)",
        "[1, 2, 3].map(x, x * 2) == [2, 4, 6]",
        "[1, 2, 3].map(x, x > 1, x * 10) == [20, 30]",
        "[1, 2, 3].filter(x, x % 2 == 1) == [1, 3]",
        "{'a': 1, 'b': 2}.all(k, k.size() == 1)",
        "{'a': 1, 'b': 2}.filter(k, k == 'b') == ['b']",
        "[].all(x, false)",
        "![].exists(x, true)",
        "[[1, 2], [3]].all(l, l.all(x, x > 0))",
        "[1, 2].map(x, [3, 4].map(y, x * y)) == [[3, 4], [6, 8]]",
    ]);
    // all/exists absorb element errors when another element decides the result.
    is_false("[0, 1].all(x, 1 / x > 0 && false)", json!({}));
    is_true("[0, 1].exists(x, 1 / x == 1)", json!({}));
    fails("[0, 1].all(x, 1 / x > 0)", json!({}), "division by zero");
    fails(
        "[0, 1].exists_one(x, 1 / x == 1)",
        json!({}),
        "division by zero",
    );
    fails("[1].map(x, x / 0)", json!({}), "division by zero");
    fails(
        "1.all(x, true)",
        json!({}),
        "expression of type 'int' cannot be range of a comprehension (must be list, map, or dynamic)",
    );
}

#[test]
fn standard_functions_and_conversions() {
    all_true(&[
        "size('hello') == 5 && 'hello'.size() == 5",
        "size([1, 2]) == 2 && size({'a': 1}) == 1",
        "'hello'.contains('ell') && 'hello'.startsWith('he') && 'hello'.endsWith('lo')",
        "'abc123'.matches('^[a-z]+[0-9]+$')",
        "matches('xyz', 'y')",
        "!'abc'.matches('^b')",
        "int('42') == 42 && int(3.9) == 3 && int(-3.9) == -3 && int(42u) == 42",
        "uint(42) == 42u && uint('7') == 7u",
        "double(1) == 1.0 && double('2.5') == 2.5 && double(3u) == 3.0",
        "string(42) == '42' && string(1u) == '1' && string(true) == 'true'",
        "string(1.5) == '1.5' && string(1e6) == '1e+06' && string(123456.0) == '123456'",
        "string(b'abc') == 'abc' && bytes('abc') == b'abc'",
        "bool('true') && !bool('false')",
        "dyn(1) == 1",
        "type(1) == int && type(1u) == uint && type('a') == string && type([]) == list && type({}) == map",
        "type(null) == null_type && type(b'') == bytes && type(true) == bool && type(int) == type",
        "type(duration('1s')) != type(timestamp('2023-01-01T00:00:00Z'))",
    ]);
    fails(
        "int('abc')",
        json!({}),
        "strconv.ParseInt: parsing \"abc\": invalid syntax",
    );
    fails("size(1)", json!({}), "no such overload: size(int)");
    fails(
        "'a'.contains(1)",
        json!({}),
        "no such overload: contains(string, int)",
    );
    assert!(
        val("'a'.matches('(')")
            .unwrap_err()
            .starts_with("error parsing regexp")
    );
    assert_eq!(val("string(2.0)"), Ok(json!("2")));
    assert_eq!(val("type(1)"), Ok(json!("int")));
}

#[test]
fn durations_and_timestamps() {
    all_true(&[
        "duration('1h') > duration('30m')",
        "duration('1h30m') == duration('90m')",
        "duration('1.5s') == duration('1500ms')",
        "duration('1h') + duration('1m') == duration('61m')",
        "-duration('1s') < duration('0')",
        "string(duration('1h30m')) == '5400s'",
        "duration('1h').getHours() == 1 && duration('90m').getMinutes() == 90",
        "duration('2s').getSeconds() == 2 && duration('1.5s').getMilliseconds() == 1500",
        "timestamp('2023-01-01T00:00:00Z') < timestamp('2023-01-02T00:00:00Z')",
        "timestamp('2023-01-01T00:00:00Z') + duration('24h') == timestamp('2023-01-02T00:00:00Z')",
        "timestamp('2023-01-02T00:00:00Z') - timestamp('2023-01-01T00:00:00Z') == duration('24h')",
        "timestamp('2023-01-01T10:00:00+02:00') == timestamp('2023-01-01T08:00:00Z')",
        "string(timestamp('2023-05-06T07:08:09.5Z')) == '2023-05-06T07:08:09.5Z'",
        "timestamp('2023-05-06T07:08:09.5Z').getFullYear() == 2023",
        "timestamp('2023-05-06T07:08:09.5Z').getMonth() == 4",
        "timestamp('2023-05-06T07:08:09.5Z').getDate() == 6",
        "timestamp('2023-05-06T07:08:09.5Z').getDayOfMonth() == 5",
        "timestamp('2023-05-06T07:08:09.5Z').getDayOfWeek() == 6",
        "timestamp('2023-05-06T07:08:09.5Z').getDayOfYear() == 125",
        "timestamp('2023-05-06T07:08:09.5Z').getHours() == 7",
        "timestamp('2023-05-06T07:08:09.5Z').getHours('+05:30') == 12",
        "timestamp('2023-05-06T07:08:09.5Z').getMinutes() == 8",
        "timestamp('2023-05-06T07:08:09.5Z').getSeconds() == 9",
        "timestamp('2023-05-06T07:08:09.5Z').getMilliseconds() == 500",
        "int(timestamp('1970-01-01T00:01:00Z')) == 60",
        "timestamp(60) == timestamp('1970-01-01T00:01:00Z')",
    ]);
    fails("duration('1d')", json!({}), "invalid duration \"1d\"");
    fails(
        "timestamp('yesterday')",
        json!({}),
        "invalid timestamp \"yesterday\"",
    );
    fails(
        "timestamp('9999-12-31T23:59:59Z') + duration('1s')",
        json!({}),
        "timestamp overflow",
    );
    fails(
        "duration('1h') + 1",
        json!({}),
        "no such overload: _+_(google.protobuf.Duration, int)",
    );
    assert_eq!(val("duration('1m')"), Ok(json!("60s")));
}

#[test]
fn cost_budget_stops_runaway_expressions() {
    let big: Vec<i64> = (0..2_000).collect();
    let vars = json!({"self": big});
    // 2,000 x 2,000 comparisons is far past the budget.
    fails(
        "self.all(x, self.all(y, x + y >= 0))",
        vars.clone(),
        "operation cancelled: actual cost limit exceeded",
    );
    // A single pass over the same list is fine.
    is_true("self.all(x, x >= 0)", vars.clone());
    let prg = compile("self.map(x, x * 2).size() == 2000", &["self"]).unwrap();
    let list = json!(big);
    assert!(
        prg.eval_with_limit(&[("self", &list)], 100)
            .unwrap_err()
            .message
            .contains("cost limit exceeded")
    );
    // The cost spent is reported so callers can share one budget across rules.
    let (res, spent) = prg.eval_metered(&[("self", Value::from_json(&list))], super::COST_LIMIT);
    assert!(matches!(res, Ok(Value::Bool(true))));
    assert!((2_000..20_000).contains(&spent), "{spent}");
    // Errors from the budget are not absorbed by logical operators.
    fails(
        "self.all(x, self.all(y, x + y >= 0)) || true",
        vars,
        "operation cancelled: actual cost limit exceeded",
    );
}

#[test]
fn values_render_for_messages() {
    let prg = compile(
        "[1, dyn('a'), dyn(2u), dyn(1.5), {'k': null}, dyn(b'x'), duration('1s')]",
        &[],
    )
    .unwrap();
    let v = prg.eval(&[]).unwrap();
    assert_eq!(
        v.to_string(),
        "[1, \"a\", 2u, 1.5, {\"k\": null}, b\"x\", duration(\"1s\")]"
    );
    assert!(
        matches!(compile("'plain'", &[]).unwrap().eval(&[]).unwrap(), Value::String(s) if &*s == "plain")
    );
}

#[test]
fn escaped_property_names() {
    let obj =
        json!({"self": {"x-prop": 1, "a.b": 2, "c/d": 3, "e__f": 4, "namespace": 5, "in": 6}});
    is_true(
        "self.x__dash__prop == 1 && self.a__dot__b == 2 && self.c__slash__d == 3",
        obj.clone(),
    );
    is_true(
        "self.e__underscores__f == 4 && self.__namespace__ == 5 && self.__in__ == 6",
        obj.clone(),
    );
    is_true(
        "has(self.x__dash__prop) && !has(self.y__dash__prop)",
        obj.clone(),
    );
    is_true("self['x-prop'] == 1", obj.clone());
    assert!(
        compile("self.namespace", &["self"])
            .unwrap_err()
            .contains("reserved identifier: namespace")
    );
}

#[test]
fn prebuilt_values_can_be_bound() {
    let prg = compile(
        "variables.deadline < object.created + duration('1h') && variables.n == 2",
        &["variables", "object"],
    )
    .unwrap();
    let created = super::time::Timestamp::parse("2023-01-01T00:00:00Z").unwrap();
    let deadline = super::time::Timestamp::parse("2023-01-01T00:30:00Z").unwrap();
    let variables = Value::object([
        ("deadline".to_string(), Value::Timestamp(deadline)),
        ("n".to_string(), Value::Int(2)),
    ]);
    let object = Value::object([("created".to_string(), Value::Timestamp(created))]);
    let out = prg
        .eval_values(
            &[("variables", variables), ("object", object)],
            super::COST_LIMIT,
        )
        .unwrap();
    assert!(matches!(out, Value::Bool(true)));
}

#[test]
fn bindings_and_two_variable_comprehensions() {
    all_true(&[
        "cel.bind(x, 'abc', x + x) == 'abcabc'",
        "cel.bind(a, [1, 2], cel.bind(b, a.size(), a.all(x, x <= b)))",
        "[10, 20].all(i, v, v == (i + 1) * 10)",
        "{'a': 1, 'b': 2}.exists(k, v, k == 'b' && v == 2)",
        "[1, 2, 3].existsOne(i, v, v > 2) && [1, 2, 3].existsOne(x, x > 2)",
        "[1, 2, 3].transformList(i, v, v * i) == [0, 2, 6]",
        "[1, 2, 3].transformList(i, v, i > 0, v * 10) == [20, 30]",
        "{'a': 1, 'b': 2}.transformMap(k, v, v + 1) == {'a': 2, 'b': 3}",
        "{'a': 1, 'b': 2}.transformMap(k, v, k == 'a', v) == {'a': 1}",
    ]);
    let vars = json!({"object": {"spec": {"containers": [{"name": "a", "image": "x:latest"}, {"name": "b", "image": "y:1"}]}}});
    is_true(
        "cel.bind(images, object.spec.containers.map(c, c.image), images.exists(i, i.endsWith(':latest')))",
        vars,
    );
    assert!(
        compile("cel.bind(x, 1, x) + x", &[])
            .unwrap_err()
            .contains("undeclared reference to 'x'")
    );
}

#[test]
fn admission_policy_variables_are_lazy_and_memoized() {
    let decl = ["object", "variables"];
    let images = compile("object.spec.containers.map(c, c.image)", &decl).unwrap();
    let latest = compile("variables.images.filter(i, i.endsWith(':latest'))", &decl).unwrap();
    let broken = compile("object.spec.missing", &decl).unwrap();
    let variables = [
        ("images", &images),
        ("latest", &latest),
        ("broken", &broken),
    ];
    let object = Value::from_json(
        &json!({"spec": {"containers": [{"image": "a:latest"}, {"image": "b:1"}]}}),
    );
    let vars = [("object", object)];
    let run = |expr: &str| {
        let p = compile(expr, &decl).unwrap();
        p.eval_with_variables(&vars, &variables, super::COST_LIMIT)
            .0
            .map(|v| v.to_json())
            .map_err(|e| e.message)
    };
    assert_eq!(run("variables.latest"), Ok(json!(["a:latest"])));
    assert_eq!(
        run("variables.images.size() == 2 && size(variables.latest) == 1"),
        Ok(json!(true))
    );
    // A failing variable only matters where it is used.
    assert_eq!(run("variables.images.size() > 0"), Ok(json!(true)));
    assert_eq!(
        run("variables.broken == 1"),
        Err("no such key: missing".into())
    );
    assert_eq!(
        run("has(variables.images) && !has(variables.nope)"),
        Ok(json!(true))
    );
    assert_eq!(run("variables.nope"), Err("no such key: nope".into()));
    assert_eq!(run("variables.?nope.orValue(1) == 1"), Ok(json!(true)));
    assert_eq!(run("[1].all(variables, variables == 1)"), Ok(json!(true)));
    // Reading a variable twice evaluates it once.
    let p = compile("variables.images == variables.images", &decl).unwrap();
    let (_, twice) = p.eval_with_variables(&vars, &variables, super::COST_LIMIT);
    let p = compile("variables.images == []", &decl).unwrap();
    let (_, once) = p.eval_with_variables(&vars, &variables, super::COST_LIMIT);
    assert!(twice < once + 5, "memoized: {twice} vs {once}");
}

#[test]
fn programs_and_values_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync + Clone>() {}
    shareable::<super::Program>();
    shareable::<Value>();
    let prg = compile("self.n * 2", &["self"]).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let prg = prg.clone();
            std::thread::spawn(move || prg.eval(&[("self", &json!({"n": i}))]).unwrap().to_json())
        })
        .collect();
    let out: Vec<Json> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(out, vec![json!(0), json!(2), json!(4), json!(6)]);
}
