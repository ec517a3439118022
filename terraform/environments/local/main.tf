# The local sandbox as a Terraform environment. It uses only Terraform's builtin resources,
# so `canaryctl env up local` runs real Terraform on any machine, with no provider download
# and no cloud account: it records the sandbox's shape (router URL, ports, replicas, state
# directory) and publishes it as outputs a pipeline can use, like staging's ARNs.

terraform {
  required_version = ">= 1.10"
}

locals {
  router_url = "http://${var.host}:${var.router_port}"
  up_command = "canaryctl sandbox up --replicas ${var.replicas} --port ${var.router_port} --dir ${var.state_dir} --detach"
}

resource "terraform_data" "sandbox" {
  # Changing any of these replaces the record, as a new sandbox would be needed.
  input = {
    service      = var.service_name
    host         = var.host
    router_port  = var.router_port
    router_url   = local.router_url
    replicas     = var.replicas
    state_dir    = var.state_dir
    sandbox_json = "${var.state_dir}/sandbox.json"
  }
}
