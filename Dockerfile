# Multi-stage build of Aether's binaries: one image, the command chooses
# the process (api, worker or fakeupstream).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ ./cmd/api ./cmd/worker ./cmd/fakeupstream

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ /usr/local/bin/
COPY config/ /etc/aether/
USER nonroot
ENTRYPOINT ["/usr/local/bin/api"]
