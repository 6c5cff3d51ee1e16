# Source: WordOps/WordOps wo/cli/templates/virtualconf.mustache@301b146ac1e39c29331325165fac88e2ff18948c, rendered as `wo site create example.com --wpfc` does (site_name example.com, wp, wpfc, wo_php php83); common/wpcommon-php83.conf, common/locations-wo.conf and the site's own conf/nginx/*.conf, which hold no cache directive, left out
server {

    server_name example.com www.example.com;

    access_log /var/log/nginx/example.com.access.log rt_cache;
    error_log /var/log/nginx/example.com.error.log;

    root /var/www/example.com/htdocs;

    index index.php index.html index.htm;

    include common/wpfc-php83.conf;
}
