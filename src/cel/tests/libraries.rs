//! The Kubernetes CEL libraries: strings, lists and regex, quantity,
//! sets, IP and CIDR, URL.

use super::*;

#[test]
fn strings_library() {
    all_true(&[
        "'hello'.charAt(1) == 'e' && 'hello'.charAt(5) == ''",
        "'hello mellow'.indexOf('') == 0 && 'hello mellow'.indexOf('ello') == 1",
        "'hello mellow'.indexOf('ello', 6) == 7 && 'hello mellow'.indexOf('jello') == -1",
        "'hello mellow'.lastIndexOf('ello') == 7 && 'hello mellow'.lastIndexOf('ello', 6) == 1",
        "'TacoCat'.lowerAscii() == 'tacocat' && 'TacoCÆt'.upperAscii() == 'TACOCÆT'",
        "'hello hello'.replace('he', 'we') == 'wello wello'",
        "'hello hello'.replace('he', 'we', 1) == 'wello hello'",
        "'hello hello'.replace('he', 'we', -1) == 'wello wello'",
        "'hello world'.split(' ') == ['hello', 'world']",
        "'a,b,c'.split(',', 2) == ['a', 'b,c'] && 'a,b'.split(',', 0) == []",
        "'tacocat'.substring(4) == 'cat' && 'tacocat'.substring(0, 4) == 'taco'",
        "'  \\ttrim\\n  '.trim() == 'trim'",
        "['hello', 'mellow'].join() == 'hellomellow' && ['a', 'b'].join(', ') == 'a, b'",
        "[].join('-') == ''",
        "'gums'.reverse() == 'smug'",
        "'ñandú'.charAt(4) == 'ú' && 'ñandú'.substring(1, 3) == 'an' && 'ñandú'.indexOf('d') == 3",
        "strings.quote('a\"b\\n') == '\"a\\\\\"b\\\\n\"'",
    ]);
    assert_eq!(
        val(
            "'%s is %d years, %.2f%% sure, hex %x'.format(['Ann', dyn(30), dyn(99.456), dyn(255)])"
        ),
        Ok(json!("Ann is 30 years, 99.46% sure, hex ff"))
    );
    assert_eq!(
        val("'%s and %s'.format([[1, dyn('a')], true])"),
        Ok(json!("[1, a] and true"))
    );
    assert_eq!(val("'%e'.format([1234.5])"), Ok(json!("1.234500e+03")));
    assert_eq!(
        val("'%o %b %X'.format([8, 5, 255])"),
        Ok(json!("10 101 FF"))
    );
    fails("'abc'.charAt(4)", json!({}), "index out of range: 4");
    fails(
        "'abc'.substring(2, 1)",
        json!({}),
        "invalid substring range. start: 2, end: 1",
    );
    fails("'abc'.substring(4)", json!({}), "index out of range: 4");
    fails(
        "'%d'.format(['x'])",
        json!({}),
        "error during formatting: unrecognized formatting clause \"d\" for type string",
    );
    fails("[1].join()", json!({}), "no such overload: join(int)");
}

#[test]
fn lists_and_regex_libraries() {
    all_true(&[
        "[1, 2, 3].isSorted() && !['b', 'a'].isSorted() && [].isSorted()",
        "[1, 2, 3].sum() == 6 && [1.5, 2.5].sum() == 4.0 && [].sum() == 0",
        "[duration('1s'), duration('2s')].sum() == duration('3s')",
        "[3, 1, 2].min() == 1 && [3, 1, 2].max() == 3 && ['b', 'a'].min() == 'a'",
        "[1, 2, 2, 3].indexOf(2) == 1 && [1, 2, 2, 3].lastIndexOf(2) == 2 && [1].indexOf(5) == -1",
        "[1, 2, 3, 4].slice(1, 3) == [2, 3]",
        "[[1], [2, 3]].flatten() == [1, 2, 3]",
        "[1, 2, 1].distinct() == [1, 2]",
        "'abc 123'.find('[0-9]+') == '123' && 'abc'.find('[0-9]+') == ''",
        "'123 abc 456'.findAll('[0-9]+') == ['123', '456']",
        "'123 abc 456'.findAll('[0-9]+', 1) == ['123']",
    ]);
    fails("[].min()", json!({}), "min called on empty list");
    // Perl classes have RE2's ASCII meaning.
    all_true(&[
        "'42'.matches('^\\\\d+$') && !'\u{0664}\u{0662}'.matches('^\\\\d+$')",
        "'a_1'.matches('^\\\\w+$') && !'\u{e9}'.matches('^\\\\w$') && '\u{e9}'.matches('^\\\\W$')",
        "'a b'.matches('a\\\\sb') && 'x1-'.matches('^[\\\\w-]+$') && ']'.matches('^[]a]$')",
        "'ab cd'.findAll('\\\\b\\\\w') == ['a', 'c'] && '[x]'.matches('^\\\\[x\\\\]$')",
    ]);
    fails(
        "[1, dyn('a')].sum()",
        json!({}),
        "no such overload: _+_(int, string)",
    );
}

#[test]
fn quantity_library() {
    let obj = json!({"self": {"mem": "512Mi", "cpu": "500m"}});
    is_true(
        "quantity(self.mem).isLessThan(quantity('1Gi'))",
        obj.clone(),
    );
    is_true("quantity(self.cpu).isLessThan(quantity('1'))", obj.clone());
    is_true(
        "quantity(self.mem).compareTo(quantity('0.5Gi')) == 0",
        obj.clone(),
    );
    is_true("quantity(self.mem) == quantity('536870912')", obj.clone());
    all_true(&[
        "quantity('1Gi').isGreaterThan(quantity('1G'))",
        "quantity('1k').asInteger() == 1000 && quantity('1.5').isInteger() == false",
        "quantity('1.5').asApproximateFloat() == 1.5",
        "quantity('-1').sign() == -1 && quantity('0').sign() == 0",
        "quantity('1Gi').add(quantity('512Mi')) == quantity('1536Mi')",
        "quantity('1Gi').sub(quantity('512Mi')).isLessThan(quantity('1Gi'))",
        "quantity('1').add(2) == quantity('3')",
        "isQuantity('100m') && !isQuantity('100 m') && !isQuantity('abc')",
    ]);
    assert_eq!(
        val("quantity('1Gi').add(quantity('512Mi'))"),
        Ok(json!("1536Mi"))
    );
    assert_eq!(val("string(quantity('1000'))"), Ok(json!("1k")));
    fails(
        "quantity('1.5').asInteger()",
        json!({}),
        "cannot convert value to integer",
    );
    assert!(
        val("quantity('abc')")
            .unwrap_err()
            .starts_with("quantities must match the regular expression")
    );
}

#[test]
fn sets_library() {
    all_true(&[
        "sets.contains([1, 2, 3], [2, 3]) && !sets.contains([1], [2]) && sets.contains([1], [])",
        "sets.equivalent([1, 2], [2, 1, 1]) && !sets.equivalent([1], [1, 2])",
        "sets.intersects([1, 2], [2, 5]) && !sets.intersects([1], [])",
        "sets.contains([1], [1.0])",
    ]);
}

#[test]
fn ip_and_cidr_libraries() {
    all_true(&[
        "isIP('10.0.0.1') && isIP('2001:db8::1') && !isIP('10.0.0.256') && !isIP('::ffff:10.0.0.1')",
        "!isIP('fe80::1%eth0') && !isIP('010.0.0.1')",
        "ip('10.0.0.1').family() == 4 && ip('::1').family() == 6",
        "ip('127.0.0.1').isLoopback() && ip('::1').isLoopback() && !ip('10.0.0.1').isLoopback()",
        "ip('0.0.0.0').isUnspecified() && ip('::').isUnspecified()",
        "ip('169.254.1.1').isLinkLocalUnicast() && ip('fe80::1').isLinkLocalUnicast()",
        "ip('224.0.0.1').isLinkLocalMulticast() && ip('ff02::1').isLinkLocalMulticast()",
        "ip('10.0.0.1').isGlobalUnicast() && !ip('255.255.255.255').isGlobalUnicast()",
        "ip.isCanonical('2001:db8::1') && !ip.isCanonical('2001:DB8::1') && !ip.isCanonical('2001:db8:0::1')",
        "ip('10.0.0.1') == ip('10.0.0.1') && string(ip('2001:db8:0:0::1')) == '2001:db8::1'",
        "isCIDR('10.0.0.0/8') && !isCIDR('10.0.0.0/33') && !isCIDR('10.0.0.0') && !isCIDR('10.0.0.0/08')",
        "cidr('10.0.0.0/8').containsIP(ip('10.1.2.3')) && !cidr('10.0.0.0/8').containsIP('11.0.0.1')",
        "cidr('10.0.0.0/8').containsCIDR('10.1.0.0/16') && !cidr('10.1.0.0/16').containsCIDR(cidr('10.0.0.0/8'))",
        "cidr('2001:db8::/32').containsIP('2001:db8:1::1') && !cidr('2001:db8::/32').containsIP('10.0.0.1')",
        "cidr('0.0.0.0/0').containsIP('1.2.3.4')",
        "cidr('10.1.2.3/8').ip() == ip('10.1.2.3') && cidr('10.1.2.3/8').masked() == cidr('10.0.0.0/8')",
        "cidr('10.0.0.0/8').prefixLength() == 8 && string(cidr('10.0.0.0/8')) == '10.0.0.0/8'",
        "type(ip('10.0.0.1')) != type(cidr('10.0.0.0/8'))",
    ]);
    assert!(val("ip('nope')").unwrap_err().contains("parse error"));
    assert!(
        val("cidr('10.0.0.0')")
            .unwrap_err()
            .contains("invalid prefix")
    );
    assert_eq!(val("cidr('10.1.2.3/8').masked()"), Ok(json!("10.0.0.0/8")));
}

#[test]
fn url_library() {
    all_true(&[
        "url('https://example.com:8080/a/b?x=1').getScheme() == 'https'",
        "url('https://example.com:8080/a/b?x=1').getHost() == 'example.com:8080'",
        "url('https://example.com:8080/a/b?x=1').getHostname() == 'example.com'",
        "url('https://example.com:8080/a/b?x=1').getPort() == '8080'",
        "url('https://example.com/').getPort() == ''",
        "url('https://[::1]:80/').getHostname() == '::1' && url('https://[::1]:80/').getHost() == '[::1]:80'",
        "url('https://example.com/path%20with%20spaces/').getEscapedPath() == '/path%20with%20spaces/'",
        "url('/absolute-path').getHostname() == '' && url('/absolute-path').getEscapedPath() == '/absolute-path'",
        "url('https://example.com/?k=a&k=b&j=c+d').getQuery() == {'k': ['a', 'b'], 'j': ['c d']}",
        "url('https://example.com').getQuery() == {}",
        "isURL('https://user:pass@example.com/') && !isURL('example.com') && !isURL('../relative')",
        "!isURL('mailto:someone@example.com') && !isURL('https://exa mple.com/')",
        "url('https://example.com/') == url('https://example.com/')",
    ]);
    assert!(
        val("url('not a url')")
            .unwrap_err()
            .starts_with("URL parse error during conversion from string")
    );
}
