# The cmr binary for docker-compose.yml: `cmr serve`, `cmr worker`, `cmr migrate`.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/cmr ./cmd/cmr

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/cmr /cmr
EXPOSE 8080
ENTRYPOINT ["/cmr"]
CMD ["serve"]
