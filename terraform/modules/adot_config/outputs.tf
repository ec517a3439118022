output "yaml" {
  description = "The collector's configuration, for AOT_CONFIG_CONTENT."
  value       = yamlencode(local.config)
}
