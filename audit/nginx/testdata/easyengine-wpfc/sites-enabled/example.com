# Source: EasyEngine/easyengine ee/cli/templates/virtualconf.mustache@38c3cd6da40368795d1e04ea93dc6357b916c4eb, rendered as `ee site create example.com --wpfc` does (site_name example.com, wp, wpfc); common/wpcommon.conf and common/locations.conf, which hold no cache directive, left out
server {

    server_name example.com www.example.com;

    access_log /var/log/nginx/example.com.access.log rt_cache;
    error_log /var/log/nginx/example.com.error.log;
    root /var/www/example.com/htdocs;

    index index.php index.html index.htm;

    include common/wpfc.conf;
}
