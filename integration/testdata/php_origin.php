<?php
// The PHP origin of the hardening tests, run with PHP's built-in server
// (php -S 127.0.0.1:PORT php_origin.php). It reads its session the way any
// PHP application does, from $_COOKIE, under the name PHP gives the cookie
// (php_register_variable_ex turns "." and " " into "_"), and its page is
// marked cacheable by mistake.
header('Content-Type: text/html; charset=utf-8');
if ($_SERVER['REQUEST_URI'] === '/healthz') {
    header('Cache-Control: no-store');
    echo "owner=public\n";
    return;
}
header('Cache-Control: max-age=60');
echo 'owner=' . ($_COOKIE['app_sid'] ?? 'anonymous') . "\npath=" . $_SERVER['REQUEST_URI'] . "\n";
