"""The Traefik v3 configuration keys we accept, to catch a misspelt option statically.

No Traefik JSON schema can be had offline here (check-jsonschema vendors the Compose one
but not SchemaStore's Traefik ones), and Traefik refuses to start on an unknown static key
but silently ignores a misspelt label. So the keys are listed here by hand from Traefik's v3
reference (install-configuration and routing-configuration pages): the options a small
Docker deployment may use, not every option Traefik has. A key outside these trees fails
a test; add it here (with the reference page open) when the configuration needs it.

A tree maps a key to its subtree; ``LEAF`` marks a value, ``ANY_NAME`` a user-chosen name
(an entrypoint, a middleware, a header).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

Tree = Mapping[str, Any]
LEAF: Tree = {}
ANY_NAME = "*"


def _leaves(*names: str) -> dict[str, Tree]:
    return dict.fromkeys(names, LEAF)


_CLIENT_TLS = _leaves("ca", "cert", "key", "insecureSkipVerify")
_IP_STRATEGY = _leaves("depth", "excludedIPs", "ipv6Subnet")
_SOURCE_CRITERION = {
    "ipStrategy": _IP_STRATEGY,
    **_leaves("requestHeaderName", "requestHost"),
}

STATIC: Tree = {
    "global": _leaves("checkNewVersion", "sendAnonymousUsage"),
    "core": _leaves("defaultRuleSyntax"),
    "log": _leaves("level", "format", "filePath", "noColor", "maxSize", "maxAge", "maxBackups"),
    "accessLog": {
        **_leaves("filePath", "format", "bufferingSize", "addInternals"),
        "filters": _leaves("statusCodes", "retryAttempts", "minDuration"),
        "fields": {
            "defaultMode": LEAF,
            "names": {ANY_NAME: LEAF},
            "headers": {"defaultMode": LEAF, "names": {ANY_NAME: LEAF}},
        },
    },
    "entryPoints": {
        ANY_NAME: {
            **_leaves("address", "asDefault", "allowACMEByPass", "reusePort"),
            "transport": {
                "respondingTimeouts": _leaves("readTimeout", "writeTimeout", "idleTimeout"),
                "lifeCycle": _leaves("requestAcceptGraceTimeout", "graceTimeOut"),
                **_leaves("keepAliveMaxRequests", "keepAliveMaxTime"),
            },
            "forwardedHeaders": _leaves("trustedIPs", "insecure", "connection"),
            "proxyProtocol": _leaves("trustedIPs", "insecure"),
            "http": {
                "redirections": {
                    "entryPoint": _leaves("to", "scheme", "permanent", "priority"),
                },
                "tls": {
                    **_leaves("certResolver", "options"),
                    "domains": LEAF,
                },
                "encodedCharacters": _leaves(
                    "allowEncodedSlash",
                    "allowEncodedBackSlash",
                    "allowEncodedNullCharacter",
                    "allowEncodedSemicolon",
                    "allowEncodedPercent",
                    "allowEncodedQuestionMark",
                    "allowEncodedHash",
                ),
                **_leaves("middlewares", "encodeQuerySemicolons", "maxHeaderBytes"),
            },
            "http2": _leaves("maxConcurrentStreams"),
            "http3": _leaves("advertisedPort"),
            "observability": _leaves("accessLogs", "metrics", "tracing"),
        },
    },
    "ping": _leaves("entryPoint", "manualRouting", "terminatingStatusCode"),
    "api": _leaves("dashboard", "debug", "basePath", "disableDashboardAd", "insecure"),
    "providers": {
        "providersThrottleDuration": LEAF,
        "docker": {
            **_leaves(
                "endpoint",
                "exposedByDefault",
                "network",
                "watch",
                "defaultRule",
                "constraints",
                "useBindPortIP",
                "allowEmptyServices",
                "httpClientTimeout",
                "username",
                "password",
            ),
            "tls": _CLIENT_TLS,
        },
        "file": _leaves("directory", "filename", "watch", "debugLogGeneratedTemplate"),
    },
    "serversTransport": {
        **_leaves("insecureSkipVerify", "rootCAs", "maxIdleConnsPerHost"),
        "forwardingTimeouts": _leaves("dialTimeout", "responseHeaderTimeout", "idleConnTimeout"),
    },
    "certificatesResolvers": {
        ANY_NAME: {
            "acme": {
                **_leaves("email", "storage", "caServer", "keyType", "certificatesDuration"),
                "httpChallenge": _leaves("entryPoint", "delay"),
                "tlsChallenge": _leaves("delay"),
                "dnsChallenge": {
                    **_leaves("provider", "resolvers"),
                    "propagation": _leaves("delayBeforeChecks", "disableChecks"),
                },
            },
        },
    },
    "metrics": {
        "addInternals": LEAF,
        "prometheus": _leaves(
            "entryPoint",
            "manualRouting",
            "buckets",
            "addEntryPointsLabels",
            "addRoutersLabels",
            "addServicesLabels",
        ),
    },
}

MIDDLEWARES: Tree = {
    "headers": {
        "customRequestHeaders": {ANY_NAME: LEAF},
        "customResponseHeaders": {ANY_NAME: LEAF},
        **_leaves(
            "accessControlAllowCredentials",
            "accessControlAllowHeaders",
            "accessControlAllowMethods",
            "accessControlAllowOriginList",
            "accessControlAllowOriginListRegex",
            "accessControlExposeHeaders",
            "accessControlMaxAge",
            "addVaryHeader",
            "allowedHosts",
            "hostsProxyHeaders",
            "sslProxyHeaders",
            "stsSeconds",
            "stsIncludeSubdomains",
            "stsPreload",
            "forceSTSHeader",
            "frameDeny",
            "customFrameOptionsValue",
            "contentTypeNosniff",
            "browserXssFilter",
            "customBrowserXSSValue",
            "contentSecurityPolicy",
            "contentSecurityPolicyReportOnly",
            "publicKey",
            "referrerPolicy",
            "permissionsPolicy",
            "isDevelopment",
        ),
    },
    "rateLimit": {
        **_leaves("average", "period", "burst"),
        "sourceCriterion": _SOURCE_CRITERION,
    },
    "inFlightReq": {"amount": LEAF, "sourceCriterion": _SOURCE_CRITERION},
    "buffering": _leaves(
        "maxRequestBodyBytes",
        "memRequestBodyBytes",
        "maxResponseBodyBytes",
        "memResponseBodyBytes",
        "retryExpression",
    ),
    "basicAuth": _leaves("users", "usersFile", "realm", "removeHeader", "headerField"),
    "chain": _leaves("middlewares"),
    "ipAllowList": {"sourceRange": LEAF, "ipStrategy": _IP_STRATEGY, "rejectStatusCode": LEAF},
    "redirectScheme": _leaves("scheme", "port", "permanent"),
    "compress": _leaves("excludedContentTypes", "includedContentTypes", "minResponseBodyBytes"),
}

_ROUTER: Tree = {
    **_leaves("rule", "ruleSyntax", "entryPoints", "service", "middlewares", "priority"),
    "tls": {**_leaves("certResolver", "options"), "domains": LEAF},
}

_LOAD_BALANCER: Tree = {
    "servers": LEAF,
    "server": _leaves("port", "scheme", "url", "weight"),
    "healthCheck": {
        **_leaves("path", "interval", "timeout", "scheme", "port", "hostname", "followRedirects"),
        "headers": {ANY_NAME: LEAF},
    },
    **_leaves("passHostHeader", "serversTransport"),
}

DYNAMIC: Tree = {
    "http": {
        "routers": {ANY_NAME: _ROUTER},
        "middlewares": {ANY_NAME: MIDDLEWARES},
        "services": {ANY_NAME: {"loadBalancer": _LOAD_BALANCER}},
    },
}

# Docker labels: `traefik.<...>`, matched without regard to case as Traefik does.
LABELS: Tree = {
    "enable": LEAF,
    "docker": _leaves("network", "allownonrunning"),
    "http": {
        "routers": {ANY_NAME: _ROUTER},
        "middlewares": {ANY_NAME: MIDDLEWARES},
        "services": {ANY_NAME: {"loadBalancer": _LOAD_BALANCER}},
    },
}


def unknown_keys(
    config: Mapping[str, Any], tree: Tree, *, ignore_case: bool = False, path: str = ""
) -> Iterator[str]:
    """Dotted paths of the keys in ``config`` that ``tree`` does not allow."""
    known = {(key.lower() if ignore_case else key): sub for key, sub in tree.items()}
    for key, value in config.items():
        here = f"{path}.{key}" if path else str(key)
        lookup = str(key).lower() if ignore_case else str(key)
        if lookup in known:
            subtree = known[lookup]
        elif ANY_NAME in known:
            subtree = known[ANY_NAME]
        else:
            yield here
            continue
        if subtree is LEAF:
            continue
        if not isinstance(value, Mapping):
            yield f"{here} (expected a mapping)"
            continue
        yield from unknown_keys(value, subtree, ignore_case=ignore_case, path=here)


def is_known_label(key: str) -> bool:
    """Whether a ``traefik.*`` Docker label names an option Traefik has (case-insensitive)."""
    segments = key.split(".")
    if segments[0].lower() != "traefik":
        return True  # not Traefik's business
    tree: Tree = LABELS
    for segment in segments[1:]:
        if tree is LEAF:
            return False
        known = {name.lower(): sub for name, sub in tree.items()}
        if segment.lower() in known:
            tree = known[segment.lower()]
        elif ANY_NAME in known:
            tree = known[ANY_NAME]
        else:
            return False
    return True
