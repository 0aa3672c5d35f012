{{/* Resource name: <release>-credmount, or the release name when it already says credmount. */}}
{{- define "credmount.fullname" -}}
{{- if contains "credmount" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-credmount" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "credmount.serviceAccountName" -}}
{{- default (include "credmount.fullname" .) .Values.serviceAccount.name -}}
{{- end -}}

{{- define "credmount.selectorLabels" -}}
app.kubernetes.io/name: credmount
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "credmount.labels" -}}
{{ include "credmount.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/*
The enabled providers as a JSON list, in key order, each with its resolved name and flag prefix.
Checks what the API server or the driver would otherwise refuse later, with the value's name:
  1. an audience is required for providers that say so (gcp);
  2. expirationSeconds is a whole number of at least 600 (the API server's minimum);
  3. the embedded provider has exactly one source of the issuer's keys;
  4. at least one provider is enabled, and driver.defaultProvider is one of them.
*/}}
{{- define "credmount.providers" -}}
{{- $out := list -}}
{{- range $key, $p := .Values.providers -}}
{{- if $p.enabled -}}
{{- $name := default $key $p.name -}}
{{- $audience := toString (default "" $p.audience) -}}
{{- if and $p.requireAudience (eq $audience "") -}}
{{- fail (printf "providers.%s.audience is required when providers.%s.enabled is true" $key $key) -}}
{{- end -}}
{{- $exp := int64 (default 3600 $p.expirationSeconds) -}}
{{- if lt $exp 600 -}}
{{- fail (printf "providers.%s.expirationSeconds must be at least 600 (Kubernetes' minimum for tokenRequests), got %v" $key $p.expirationSeconds) -}}
{{- end -}}
{{- $out = append $out (dict "key" $key "name" $name "prefix" (default $name $p.flagPrefix) "audience" $audience "expirationSeconds" $exp "audienceFlag" (default "" $p.audienceFlag) "flags" (default dict $p.flags) "serviceAccountAnnotations" (default false $p.serviceAccountAnnotations)) -}}
{{- end -}}
{{- end -}}
{{- $e := .Values.providers.embedded -}}
{{- if and $e $e.enabled -}}
{{- $sources := 0 -}}
{{- if ne (toString (index $e.flags "jwks-url")) "" -}}{{- $sources = add1 $sources -}}{{- end -}}
{{- if or (ne (toString (index $e.flags "jwks-file")) "") $e.jwksConfigMap -}}{{- $sources = add1 $sources -}}{{- end -}}
{{- if ne $sources 1 -}}
{{- fail "providers.embedded needs exactly one of flags.jwks-url, flags.jwks-file or jwksConfigMap (the service-account issuer's keys)" -}}
{{- end -}}
{{- end -}}
{{- if eq (len $out) 0 -}}
{{- fail "no provider is enabled: set providers.<name>.enabled=true for at least one" -}}
{{- end -}}
{{- $names := list -}}
{{- range $out -}}{{- $names = append $names .name -}}{{- end -}}
{{- if not (has .Values.driver.defaultProvider $names) -}}
{{- fail (printf "driver.defaultProvider %q is not an enabled provider (enabled: %s)" .Values.driver.defaultProvider (join ", " $names)) -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
The CSIDriver's tokenRequests: one entry per distinct audience of the enabled providers, then
csiDriver.extraTokenRequests. The API server refuses duplicate audiences, so providers that share
an audience share its entry; they must then agree on expirationSeconds.
*/}}
{{- define "credmount.tokenRequests" -}}
{{- $seen := dict -}}
{{- $out := list -}}
{{- $requests := list -}}
{{- range (include "credmount.providers" . | fromJsonArray) -}}
{{- $requests = append $requests (dict "audience" .audience "expirationSeconds" (int64 .expirationSeconds) "from" (printf "providers.%s" .key)) -}}
{{- end -}}
{{- range $i, $r := .Values.csiDriver.extraTokenRequests -}}
{{- $exp := int64 (default 3600 $r.expirationSeconds) -}}
{{- if lt $exp 600 -}}
{{- fail (printf "csiDriver.extraTokenRequests[%d].expirationSeconds must be at least 600, got %v" $i $r.expirationSeconds) -}}
{{- end -}}
{{- $requests = append $requests (dict "audience" (toString (default "" $r.audience)) "expirationSeconds" $exp "from" (printf "csiDriver.extraTokenRequests[%d]" $i)) -}}
{{- end -}}
{{- range $requests -}}
{{- $k := printf "a:%s" .audience -}}
{{- if hasKey $seen $k -}}
{{- $prev := get $seen $k -}}
{{- if ne (int64 $prev.expirationSeconds) (int64 .expirationSeconds) -}}
{{- fail (printf "%s and %s request audience %q with different expirationSeconds (%v, %v): make them equal" $prev.from .from .audience $prev.expirationSeconds .expirationSeconds) -}}
{{- end -}}
{{- else -}}
{{- $_ := set $seen $k . -}}
{{- $out = append $out (dict "audience" .audience "expirationSeconds" .expirationSeconds) -}}
{{- end -}}
{{- end -}}
{{- toJson $out -}}
{{- end -}}

{{/*
Install the SecretProviderClass CRD? true/false force it; auto renders it unless the cluster has
it and this release does not own it (someone else installed it, e.g. the Secrets Store CSI
driver). Without a cluster (helm template) lookup finds nothing, so auto renders it.
*/}}
{{- define "credmount.installSpcCrd" -}}
{{- $mode := toString .Values.secretProviderClassCRD.install -}}
{{- if eq $mode "true" -}}true
{{- else if eq $mode "false" -}}false
{{- else if eq $mode "auto" -}}
{{- $existing := lookup "apiextensions.k8s.io/v1" "CustomResourceDefinition" "" "secretproviderclasses.secrets-store.csi.x-k8s.io" -}}
{{- if not $existing -}}true
{{- else -}}
{{- $annotations := default dict $existing.metadata.annotations -}}
{{- if and (eq (get $annotations "meta.helm.sh/release-name") .Release.Name) (eq (get $annotations "meta.helm.sh/release-namespace") .Release.Namespace) -}}true{{- else -}}false{{- end -}}
{{- end -}}
{{- else -}}
{{- fail (printf "secretProviderClassCRD.install must be auto, true or false, got %q" $mode) -}}
{{- end -}}
{{- end -}}
