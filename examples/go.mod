module github.com/idbridge/idbridge/examples

go 1.26.0

replace (
	github.com/idbridge/idbridge => ../
	github.com/idbridge/idbridge/integration => ../integration
)

require github.com/idbridge/idbridge v0.0.0-00010101000000-000000000000

require github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
