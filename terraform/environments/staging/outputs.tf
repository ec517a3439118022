# `canaryctl env outputs staging` prints these; a pipeline refers to them as
# ${env.staging.outputs.NAME} or takes a whole block with `fromEnvironment: staging`
# (docs/aws.md). Each is the environment module's output of the same name, described there.

output "region" { value = module.environment.region }
output "cluster" { value = module.environment.cluster }
output "service" { value = module.environment.service }
output "listener_arn" { value = module.environment.listener_arn }
output "blue_target_group_arn" { value = module.environment.blue_target_group_arn }
output "green_target_group_arn" { value = module.environment.green_target_group_arn }
output "load_balancer_arn_suffix" { value = module.environment.load_balancer_arn_suffix }
output "blue_target_group_arn_suffix" { value = module.environment.blue_target_group_arn_suffix }
output "green_target_group_arn_suffix" { value = module.environment.green_target_group_arn_suffix }
output "alb_dns_name" { value = module.environment.alb_dns_name }
output "state_bucket" { value = module.environment.state_bucket }
output "deploy_role_arn" { value = module.environment.deploy_role_arn }
output "task_definition_arn" { value = module.environment.task_definition_arn }
output "launch_type" { value = module.environment.launch_type }
output "deregistration_delay" { value = module.environment.deregistration_delay }
output "container_name" { value = module.environment.container_name }
output "container_port" { value = module.environment.container_port }
output "private_subnet_ids" { value = module.environment.private_subnet_ids }
output "service_security_group_id" { value = module.environment.service_security_group_id }
output "log_group_name" { value = module.environment.log_group_name }
output "canaryctl_ecs" { value = module.environment.canaryctl_ecs }
output "canaryctl_cloudwatch" { value = module.environment.canaryctl_cloudwatch }
output "amp_query_url" { value = module.environment.amp_query_url }
