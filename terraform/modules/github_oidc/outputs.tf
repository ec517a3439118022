output "role_arn" {
  description = "ARN of the role the deploy workflow assumes (the `role-to-assume`)."
  value       = aws_iam_role.deploy.arn
}

output "oidc_provider_arn" {
  description = "ARN of GitHub's OIDC provider in the account."
  value       = local.provider_arn
}
