output "service" {
  description = "The service the sandbox runs."
  value       = terraform_data.sandbox.output.service
}

output "router_url" {
  description = "URL of the sandbox's weighted router."
  value       = terraform_data.sandbox.output.router_url
}

output "router_port" {
  description = "Port of the sandbox's weighted router."
  value       = terraform_data.sandbox.output.router_port
}

output "replicas" {
  description = "Backend processes per task set."
  value       = terraform_data.sandbox.output.replicas
}

output "state_dir" {
  description = "The sandbox's state directory."
  value       = terraform_data.sandbox.output.state_dir
}

output "sandbox_json" {
  description = "File the sandbox supervisor writes its URLs and pid to."
  value       = terraform_data.sandbox.output.sandbox_json
}

output "sandbox_up_command" {
  description = "The command that starts this sandbox."
  value       = local.up_command
}

output "canaryctl_local" {
  description = "The `platform:` block of a local pipeline (`fromEnvironment: local`)."
  value = {
    sandbox       = terraform_data.sandbox.output.state_dir
    healthTimeout = var.health_timeout
  }
}
