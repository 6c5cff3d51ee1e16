# Source: ZeitOnline/app-cache-deployment components/varnish/vcl_includes/acl.vcl@0baf0903b30a3340b18619a7ddb55054a0f79d76, reduced to three of its networks
acl zeit {
    "127.0.0.1";        # localhost
    "10.100.0.0"/16;    # Server HH
    "10.30.0.0"/21;     # ZON HH
}
