# Source: alexwilson/frontend terraform/modules/fastly/vcl/main.vcl@31d1e39c76f431bbf51d57b48dc868e390bd7afa, reduced to the two halves of Fastly's boilerplate (its redirect, header and service-chain includes are dropped)
# Fastly Boilerplate based on: https://docs.fastly.com/en/guides/serving-stale-content
include "fastly-boilerplate-begin.vcl";

include "fastly-boilerplate-end.vcl";
